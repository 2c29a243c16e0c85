"""Each domain owns its settings class (issue 16): the kernel keeps what every process shares, every
setting is declared once, a .env key no domain knows is refused by every class, a key another domain
owns is left to (and checked by) that domain."""

import pytest
from pydantic import ValidationError

from scan_video.config import ScanConfig
from vv_core.config_errors import is_settings_error, settings_error_line
from vv_core.settings import CoreSettings, domain_settings_classes

DOMAINS = domain_settings_classes()
STAGE_PREFIXES = ("scan_", "tv_api_", "dvr_default", "dvr_segment", "stage_", "container_", "backup_",
                  "self_monitor_", "cleanup_", "schedule_", "witness_", "llm_", "ingest_", "orchestrator_",
                  "queue_", "diagnose_", "update_")


def own_fields(cls: type[CoreSettings]) -> set[str]:
    return set(cls.model_fields) - set(CoreSettings.model_fields)


def test_every_domain_of_the_box_is_listed_and_builds_on_the_kernel():
    assert len(DOMAINS) == 14
    assert all(issubclass(cls, CoreSettings) and own_fields(cls) for cls in DOMAINS)


def test_the_kernel_holds_no_stage_setting():
    assert not [name for name in CoreSettings.model_fields if name.startswith(STAGE_PREFIXES)]


def test_every_setting_is_declared_once():
    seen: dict[str, str] = {}
    for cls in DOMAINS:
        for name in own_fields(cls):
            assert name not in seen, f"{name} declared by {seen.get(name)} and {cls.__name__}"
            seen[name] = cls.__name__


@pytest.mark.parametrize("cls", DOMAINS, ids=lambda cls: cls.__name__)
def test_every_field_of_every_domain_has_a_description(cls):
    assert all(field.description for field in cls.model_fields.values())


@pytest.mark.parametrize("cls", DOMAINS, ids=lambda cls: cls.__name__)
def test_a_dotenv_key_no_domain_knows_is_refused_by_every_domain(cls, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOG_LEVEL=INFO\nSCAN_CONFIDANCE=0.3\n")
    with pytest.raises(ValidationError) as refused:
        cls()
    assert is_settings_error(refused.value)
    assert settings_error_line(refused.value).startswith("SCAN_CONFIDANCE is not a setting")


@pytest.mark.parametrize("cls", DOMAINS, ids=lambda cls: cls.__name__)
def test_a_dotenv_key_of_another_domain_is_accepted_and_checked(cls, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other, value = ("tv_api_port", "8123") if "tv_api_port" not in cls.model_fields else ("scan_iou", "0.3")
    (tmp_path / ".env").write_text(f"LOG_LEVEL=DEBUG\n{other.upper()}={value}\n")
    loaded = cls()
    assert loaded.log_level == "DEBUG" and other not in type(loaded).model_fields
    (tmp_path / ".env").write_text(f"{other.upper()}=not-a-number\n")
    with pytest.raises(ValidationError) as refused:
        cls()
    assert settings_error_line(refused.value).startswith(f"{other.upper()} is invalid")


def test_scan_config_keeps_the_stricter_bounds_of_the_settings():
    # The two copies had drifted: SCAN_INPUT_SIZE had le=1920 in the settings only (and threads,
    # parallel_videos, motion_width, face_min_size had upper bounds there only).
    for name, too_big in (("input_size", 1921), ("threads", 65), ("parallel_videos", 17),
                          ("motion_width", 1921), ("face_min_size", 4097)):
        with pytest.raises(ValidationError, match=name):
            ScanConfig(**{name: too_big})
    assert ScanConfig(input_size=1920).input_size == 1920


def test_scan_config_takes_every_plain_scan_setting(settings):
    tuned = settings.model_copy(update={"scan_input_size": 320, "scan_motion_threshold": 0.01,
                                        "scan_class_rename": "a=b"})
    config = ScanConfig.from_settings(tuned)
    assert (config.input_size, config.motion_threshold, config.class_rename) == (320, 0.01, {"a": "b"})
    assert config.models_dir == settings.models_dir


def test_pipeline_stage_values_come_from_their_own_fields(settings):
    tuned = settings.model_copy(update={"stage_timeout_logline_s": 7.0, "stage_args_summarize": "--config 'a b'",
                                        "container_schedule": "pm"})
    assert tuned.stage_timeout_s("logline") == 7.0
    assert tuned.stage_args("summarize") == ["--config", "a b"]
    assert tuned.stage_args("schedule") == []
    assert tuned.container_for("schedule") == "pm"
