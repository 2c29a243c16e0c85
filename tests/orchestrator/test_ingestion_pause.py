"""An ingestion pause (`vv diagnose --fix`, state/ingestion_paused.json): input/ waits, nothing is lost."""

import json


def test_paused_ingestion_claims_nothing_until_resumed(box):
    box.drop("cam1/a.mp4")
    box.settings.storage.ingestion_paused.write_text(json.dumps({"by": "test"}))
    report = box.run()
    assert report.seen == 0 and report.done == []
    assert box.files("input") == ["cam1/a.mp4"] and box.files("processed") == []
    box.settings.storage.ingestion_paused.unlink()
    report = box.run()
    assert report.done == ["cam1_a"]
    assert box.files("processed") == ["cam1/a.mp4"]
