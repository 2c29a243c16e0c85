import io
import json
import logging
import re

from vv_core.jsonlog import setup_logging, utc_timestamp

Z_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_json_lines_carry_required_fields_and_context(tmp_path):
    stream = io.StringIO()
    log_file = tmp_path / "logs" / "app.log"
    logger = setup_logging("scene_scanner", "DEBUG", log_file=log_file, stream=stream)
    logger.info("scanned %s", "v1", extra={"video_id": "cam1_x", "stage": "scan"})
    logger.debug("details")
    line = json.loads(stream.getvalue().splitlines()[0])
    assert Z_TIME.match(line["timestamp"])
    assert line["level"] == "INFO"
    assert line["service_name"] == "scene_scanner"
    assert line["hostname"]
    assert line["message"] == "scanned v1"
    assert line["video_id"] == "cam1_x" and line["stage"] == "scan"
    assert len(log_file.read_text().splitlines()) == 2


def test_exceptions_are_one_json_object(tmp_path):
    stream = io.StringIO()
    logger = setup_logging("x", stream=stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("failed")
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "ERROR"
    assert "RuntimeError: boom" in entry["exception"]


def test_setup_is_idempotent_and_respects_level():
    first, second = io.StringIO(), io.StringIO()
    setup_logging("x", "WARNING", stream=first)
    logger = setup_logging("x", "WARNING", stream=second)
    logger.info("hidden")
    logger.warning("shown")
    assert first.getvalue() == ""
    assert [json.loads(line)["message"] for line in second.getvalue().splitlines()] == ["shown"]
    vv_handlers = [h for h in logging.getLogger().handlers if getattr(h, "_vv_handler", False)]
    assert len(vv_handlers) == 1


def test_utc_timestamp_of_epoch():
    assert utc_timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_a_name_that_is_not_utf8_is_logged_escaped_not_lost(tmp_path):
    """os.fsdecode keeps undecodable bytes as lone surrogates, which UTF-8 cannot encode: the line
    used to be dropped with a '--- Logging error ---' traceback on stderr."""
    log_file = tmp_path / "app.log"
    logger = setup_logging("x", log_file=log_file, stream=io.StringIO())
    logger.warning("ignored %s", "input/bad\udcff.mp4", extra={"path": "input/bad\udcff.mp4"})
    entry = json.loads(log_file.read_text(encoding="utf-8"))
    assert entry["message"] == "ignored input/bad\udcff.mp4" and entry["path"] == "input/bad\udcff.mp4"
