"""Shared fixtures: an isolated storage root and settings that never read the developer's .env."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import make_storage_root, repo_env
from tests.parallel import (  # noqa: F401 (the hooks of the parallel run)
    pytest_collection_modifyitems,
    pytest_runtest_makereport,
)
from vv_cli.settings import Settings


def pytest_report_header() -> str:
    # The clock-ahead run (make test-clock-ahead) shows here that the moved clock really took effect.
    ahead = os.environ.get("VV_TEST_CLOCK_AHEAD_S")
    faked = f" (moved {float(ahead) / 86400:g} days ahead: tests/clock_ahead)" if ahead else ""
    return f"clock: {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}{faked}"


@pytest.fixture(autouse=True)
def isolated_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the operator's VIDEO_STORAGE_ROOT & co. (make exports some of them)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    """An empty storage tree (input/ and state/: what box commands require of an existing root)."""
    root = tmp_path / "storage"
    root.mkdir()
    return make_storage_root(root)


@pytest.fixture
def settings(storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # no stray .env from the repo is read
    return Settings(video_storage_root=storage_root, key_store_path=tmp_path / "secrets" / "keys.json",
                    checkpoint_key_store_path=tmp_path / "secrets" / "checkpoint_keys.json")


@pytest.fixture
def cli_env(storage_root: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for running `vv …` as a subprocess against the temp storage root."""
    return repo_env(
        VIDEO_STORAGE_ROOT=str(storage_root), KEY_STORE_PATH=str(tmp_path / "secrets" / "keys.json"),
        CHECKPOINT_KEY_STORE_PATH=str(tmp_path / "secrets" / "checkpoint_keys.json"),
    )
