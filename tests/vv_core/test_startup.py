"""One process start-up (issue 16): every service and CLI calls vv_core.jsonlog.start_process once; JSON
logs go to <storage>/logs/app.log and to the console stream its channel contract leaves free."""

import json
import logging

import pytest

from vv_core.jsonlog import start_process


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def app_log(settings) -> list[dict]:
    return [json.loads(line) for line in (settings.storage.logs / "app.log").read_text().splitlines()]


@pytest.mark.parametrize(("console", "on_stdout", "on_stderr"),
                         [("stdout", True, False), ("stderr", False, True), ("none", False, False)])
def test_start_up_logs_json_to_app_log_and_the_free_console_stream(settings, capsys, console, on_stdout, on_stderr):
    logger = start_process("svc", settings.model_copy(update={"log_level": "DEBUG"}), console=console)
    logger.debug("hello", extra={"video_id": "v1"})
    out, err = capsys.readouterr()
    entry = app_log(settings)[-1]
    assert (entry["service_name"], entry["message"], entry["video_id"]) == ("svc", "hello", "v1")
    assert entry["level"] == "DEBUG"
    assert (json.loads(out)["message"] == "hello") if on_stdout else out == ""
    assert (json.loads(err)["message"] == "hello") if on_stderr else err == ""


def test_start_up_is_idempotent_and_honours_log_level(settings, capsys):
    start_process("svc", settings)
    logger = start_process("svc", settings.model_copy(update={"log_level": "WARNING"}))
    logger.info("quiet")
    logger.warning("loud")
    out, _ = capsys.readouterr()
    assert [json.loads(line)["message"] for line in out.splitlines()] == ["loud"]
    assert [entry["message"] for entry in app_log(settings)] == ["loud"]


def test_start_up_never_creates_a_storage_root(settings, tmp_path, capsys):
    missing = tmp_path / "typo" / "storage"
    start_process("svc", settings.model_copy(update={"video_storage_root": missing})).info("still logged")
    assert json.loads(capsys.readouterr().out)["message"] == "still logged"
    assert not missing.parent.exists()
