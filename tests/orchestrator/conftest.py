"""Fixtures for orchestrator tests against the contract test double (tests/.../contract_stages.py)."""

import json
import os
import sys
from pathlib import Path

import pytest

from orchestrator.engine import Orchestrator
from orchestrator.runners import LocalRunner
from tests.helpers import repo_env
from vv_cli.settings import Settings

CONTRACT_STAGES = Path(__file__).with_name("contract_stages.py")


def contract_command() -> list[str]:
    return [sys.executable, str(CONTRACT_STAGES)]


class Box:
    """A storage root with the orchestrator wired to the contract stages."""

    def __init__(self, root: Path, tmp_path: Path, **overrides) -> None:
        self.root = root
        self.control = tmp_path / "contract_control.json"
        values = dict(video_storage_root=root, key_store_path=tmp_path / "secrets" / "keys.json",
                      stable_wait_s=0.0, retry_backoff_s=0.0, max_attempts=3, alert_dedup_window_s=0.0)
        values.update(overrides)
        self.settings = Settings(**values)
        self.settings.storage.ensure()
        self.env = repo_env(VIDEO_STORAGE_ROOT=str(root), CONTRACT_CONTROL=str(self.control))

    def runner(self) -> LocalRunner:
        return LocalRunner(contract_command(), env=self.env)

    def orchestrator(self, **kwargs) -> Orchestrator:
        return Orchestrator(self.settings, self.runner(), **kwargs)

    def run(self, **kwargs):
        orchestrator = self.orchestrator(**kwargs)
        try:
            return orchestrator.run_once()
        finally:
            orchestrator.close()

    def inject(self, stage: str, mode: str, times: int = 1, skip: int = 0) -> None:
        plan = json.loads(self.control.read_text()) if self.control.is_file() else {}
        plan[stage] = {"mode": mode, "times": times, "skip": skip}
        self.control.write_text(json.dumps(plan))

    def drop(self, relative: str, content: bytes | None = None, *, seed: str = "") -> Path:
        path = self.root / "input" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"CONTRACTVIDEO" + os.fsencode(seed or relative) if content is None else content)
        return path

    def files(self, directory: str) -> list[str]:
        base = self.root / directory
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())


@pytest.fixture
def box(storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Box:
    monkeypatch.chdir(tmp_path)
    return Box(storage_root, tmp_path)
