"""bootstrap: storage tree, key store, .env with fresh secrets, fallback assets; idempotent."""

import stat
import subprocess
import sys

import pytest

from ops.provisioning.bootstrap import absolute_paths, bootstrap
from ops.provisioning.env_file import create_env_file, is_secret_name, render_env
from ops.provisioning.fallback_assets import (
    LOOP_NAME,
    PLACEHOLDER_NAME,
    FallbackAssetError,
    ensure_fallback_assets,
    probe_video,
)
from tests.helpers import REPO_ROOT, repo_env
from vv_core.errors import VVError

EXAMPLE = """# demo
VIDEO_STORAGE_ROOT=storage
TV_API_JWT_SECRET=
ADMIN_PASSWORD=
ALERT_WEBHOOK_URL=
PRESET_TOKEN=keep-me
"""


def test_secret_names():
    assert is_secret_name("TV_API_JWT_SECRET") and is_secret_name("ADMIN_PASSWORD")
    assert is_secret_name("DEVICE_TOKEN") and is_secret_name("SMTP_API_KEY")
    assert not is_secret_name("KEY_STORE_PATH") and not is_secret_name("SECRET_FILE_DIR")


def test_render_env_fills_empty_secrets_and_applies_overrides():
    first = render_env(EXAMPLE, {"VIDEO_STORAGE_ROOT": "/srv/vv/storage"})
    second = render_env(EXAMPLE)
    lines = dict(line.split("=", 1) for line in first.splitlines() if "=" in line)
    assert lines["VIDEO_STORAGE_ROOT"] == "/srv/vv/storage"
    assert len(lines["TV_API_JWT_SECRET"]) >= 43 and len(lines["ADMIN_PASSWORD"]) >= 43
    assert lines["ALERT_WEBHOOK_URL"] == "" and lines["PRESET_TOKEN"] == "keep-me"
    assert first.startswith("# demo\n")
    assert lines["TV_API_JWT_SECRET"] not in second  # fresh each time
    with pytest.raises(VVError, match="NOPE"):
        render_env(EXAMPLE, {"NOPE": "1"})


def test_env_file_is_0600_and_never_rewritten(tmp_path):
    example = tmp_path / ".env.example"
    example.write_text(EXAMPLE)
    target = tmp_path / ".env"
    assert create_env_file(target, example) is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    before = target.read_bytes()
    assert create_env_file(target, example) is False
    assert target.read_bytes() == before
    with pytest.raises(VVError, match="not found"):
        create_env_file(tmp_path / "other.env", tmp_path / "missing.example")


def test_fallback_assets_are_real_media_and_kept_on_rerun(tmp_path):
    created, kept = ensure_fallback_assets(tmp_path)
    assert [p.name for p in created] == [LOOP_NAME, PLACEHOLDER_NAME] and kept == []
    info = probe_video(tmp_path / LOOP_NAME)
    assert info["codec"] == "h264" and (info["width"], info["height"]) == (1280, 720)
    assert 9.5 <= info["duration"] <= 10.5
    assert (tmp_path / PLACEHOLDER_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mtime = (tmp_path / LOOP_NAME).stat().st_mtime_ns
    created, kept = ensure_fallback_assets(tmp_path)
    assert created == [] and len(kept) == 2
    assert (tmp_path / LOOP_NAME).stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_refresh_rerenders_and_a_corrupt_loop_is_caught(tmp_path):
    (tmp_path / LOOP_NAME).write_bytes(b"not a video")
    (tmp_path / PLACEHOLDER_NAME).write_bytes(b"x")
    with pytest.raises(FallbackAssetError, match="not a playable video"):
        ensure_fallback_assets(tmp_path, skip_existing=True)
    created, _ = ensure_fallback_assets(tmp_path, skip_existing=False)
    assert len(created) == 2 and probe_video(tmp_path / LOOP_NAME)["duration"] > 0
    with pytest.raises(FallbackAssetError, match="missing"):
        probe_video(tmp_path / "nope.mp4")


def test_missing_ffmpeg_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FallbackAssetError, match="ffmpeg not found"):
        ensure_fallback_assets(tmp_path / "fallback")


def test_ffmpeg_failure_leaves_nothing(tmp_path, monkeypatch):
    import ops.provisioning.fallback_assets as assets

    monkeypatch.setattr(assets, "BACKGROUND", "not-a-colour")
    with pytest.raises(FallbackAssetError, match=r"ffmpeg failed making loop_silencioso\.mp4"):
        assets.make_loop(tmp_path / LOOP_NAME)
    assert list(tmp_path.iterdir()) == []


def test_bootstrap_creates_everything_once(settings, tmp_path):
    example = tmp_path / "example.env"
    example.write_text((REPO_ROOT / ".env.example").read_text())
    env_file = tmp_path / "box" / ".env"
    env_file.parent.mkdir()
    report = bootstrap(settings, env_file=env_file, env_example=example)
    assert env_file in report.created and settings.key_store_path in report.created
    assert settings.checkpoint_key_store_path in report.created        # Ed25519 keys for checkpoints
    assert stat.S_IMODE(settings.checkpoint_key_store_path.stat().st_mode) == 0o600
    assert (settings.storage.fallback / LOOP_NAME) in report.created
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")
    assert values["VIDEO_STORAGE_ROOT"] == str(settings.storage.root)
    assert values["KEY_STORE_PATH"] == str(settings.key_store_path)
    again = bootstrap(settings, env_file=env_file, env_example=example)
    assert again.created == [] and env_file in again.kept


def test_absolute_paths_only_names_variables_the_example_has(settings, tmp_path):
    example = tmp_path / "e"
    example.write_text("VIDEO_STORAGE_ROOT=storage\n")
    assert absolute_paths(settings, example) == {"VIDEO_STORAGE_ROOT": str(settings.storage.root)}
    assert absolute_paths(settings, tmp_path / "missing") == {}


def test_bootstrap_script_runs_as_a_file(tmp_path):
    """The blueprint's top-level `python3 bootstrap.py --skip-existing` (install.sh), from any directory."""
    env = repo_env(VIDEO_STORAGE_ROOT=str(tmp_path / "storage"),
                   KEY_STORE_PATH=str(tmp_path / "secrets" / "keys.json"))
    env.pop("PYTHONPATH")
    args = [sys.executable, str(REPO_ROOT / "bootstrap.py"), "--skip-existing",
            "--env-file", str(tmp_path / ".env"), "--no-models"]
    first = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert first.returncode == 0, first.stderr
    assert str(tmp_path / ".env") in first.stdout.splitlines()
    second = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert second.returncode == 0 and second.stdout == ""


def test_vv_bootstrap_env_file_option(cli_env, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vv_cli.main", "bootstrap", "--env-file", str(tmp_path / "x.env"), "--no-fallback"],
        capture_output=True, text=True, env=cli_env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.env").is_file() and not (tmp_path / "storage" / "fallback" / LOOP_NAME).exists()


def tiny_manifest(tmp_path):
    """A manifest whose models are small files shipped inside installed packages (pypi: source)."""
    import importlib.metadata
    import json

    from vv_core.hashing import compute_sha256

    dist = importlib.metadata.distribution("PyYAML")
    entries = []
    for name, inner, default in (("detector-a", "yaml/cyaml.py", False), ("detector-b", "yaml/nodes.py", True)):
        path = dist.locate_file(inner)
        entries.append({"name": name, "kind": "detector", "version": "1", "file": inner.split("/")[-1],
                        "sha256": compute_sha256(path), "size_bytes": path.stat().st_size,
                        "source": f"pypi:PyYAML=={dist.version}#{inner}", "default": default})
    manifest = tmp_path / "model_manifest.json"
    manifest.write_text(json.dumps({"schema_version": "1.0", "models": entries}))
    return manifest


def test_bootstrap_installs_verified_models_and_points_at_one(settings, tmp_path):
    from vv_core.models import ModelIntegrityError, current_model

    models_dir = tmp_path / "models"
    settings = settings.model_copy(update={"models_dir": models_dir})
    manifest = tiny_manifest(tmp_path)
    report = bootstrap(settings, fallback=False, models=["detector-b", "detector-a"], manifest=manifest)
    assert (models_dir / "detector-a" / "1" / "cyaml.py") in report.created
    assert (models_dir / ".current_detector_info.json") in report.created
    assert (models_dir / "model_manifest.json").read_bytes() == manifest.read_bytes()  # where stages look
    assert current_model(models_dir, kind="detector")["name"] == "detector-b"  # the first one named
    again = bootstrap(settings, fallback=False, models=True, manifest=manifest)  # the kind's default
    assert again.created == [] and (models_dir / "detector-b" / "1" / "nodes.py") in again.kept
    assert current_model(models_dir, kind="detector")["name"] == "detector-b"  # never switched behind us
    with pytest.raises(ModelIntegrityError, match="not in the manifest"):
        bootstrap(settings, fallback=False, models=["nope"], manifest=manifest)
