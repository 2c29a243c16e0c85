import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.helpers import REPO_ROOT
from vv_cli.settings import Settings
from vv_core.storage import STORAGE_DIRS, StorageLayout


def documented_variables() -> dict[str, str]:
    text = (REPO_ROOT / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE))


def test_every_setting_is_documented_in_env_example_and_nothing_else():
    fields = {name.upper() for name in Settings.model_fields}
    assert set(documented_variables()) == fields


def test_every_setting_has_a_description():
    assert all(field.description for field in Settings.model_fields.values())


def test_env_example_values_parse_into_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text((REPO_ROOT / ".env.example").read_text())
    assert Settings().video_storage_root == Path(documented_variables()["VIDEO_STORAGE_ROOT"])


def test_environment_overrides_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("VIDEO_STORAGE_ROOT=/from/dotenv\nLOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("VIDEO_STORAGE_ROOT", "/from/env")
    loaded = Settings()
    assert loaded.video_storage_root == Path("/from/env")
    assert loaded.log_level == "DEBUG"


def test_typo_in_dotenv_is_refused_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("VIDEO_STORAGE_RUT=/x\n")
    with pytest.raises(ValidationError, match="video_storage_rut"):
        Settings()


def test_bad_value_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ValidationError, match="log_level"):
        Settings()


def test_storage_layout_ensure_is_idempotent(tmp_path):
    layout = StorageLayout(tmp_path / "root")
    created = layout.ensure()
    assert [p.name for p in created] == list(STORAGE_DIRS)
    assert layout.ensure() == []
    assert layout.loglines == tmp_path / "root" / "loglines"
    with pytest.raises(AttributeError):
        _ = layout.not_a_dir


def test_storage_layout_contains_resolves_symlink_escapes(tmp_path):
    layout = StorageLayout(tmp_path / "root")
    layout.ensure()
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    escape = layout.input / "escape.mp4"
    escape.symlink_to(outside)
    assert layout.contains(layout.input / "ok.mp4")
    assert not layout.contains(escape)
    assert not layout.contains(layout.root / ".." / "outside.txt")


def test_settings_storage_property(settings, storage_root):
    assert settings.storage.root == storage_root


def test_storage_layout_names_every_directory_and_shared_file_explicitly(tmp_path):
    layout = StorageLayout(tmp_path)
    # Explicit, typed fields (no attribute built from a string): each directory is a property.
    assert all(isinstance(getattr(StorageLayout, name), property) for name in STORAGE_DIRS)
    assert [getattr(layout, name) for name in STORAGE_DIRS] == layout.directories()
    with pytest.raises(AttributeError):
        layout.inputs  # noqa: B018 - a typo is an error, not a path
    state = tmp_path / "state"
    assert (layout.orchestrator_db, layout.pipeline_status, layout.scheduler_heartbeat, layout.alerts_dedup,
            layout.backup_status, layout.camera_snapshots, layout.face_library, layout.dvr_outages) == (
        state / "orchestrator.sqlite3", state / "pipeline_status.json", state / "scheduler_heartbeat.json",
        state / "alerts_dedup.json", state / "backup_status.json", state / "snapshots",
        state / "faces" / "library.json", state / "agent_dvr.sqlite3")
    assert layout.app_log == tmp_path / "logs" / "app.log"


def test_disk_space_is_what_the_filesystem_reports(tmp_path):
    import shutil

    from vv_core.storage import DiskSpace, disk_space

    usage = shutil.disk_usage(tmp_path)
    space = disk_space(tmp_path)
    assert space.total == usage.total and abs(space.free - usage.free) < 64 * 1024 * 1024
    assert DiskSpace(200, 50).free_percent == 25.0 and DiskSpace(200, 50).used_percent == 75.0
    assert DiskSpace(0, 0).free_percent == 100.0   # an unreadable size never looks full
