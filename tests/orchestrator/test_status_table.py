"""`vv status`: the short human view by default (issue 19), the raw status with --json."""

import json

from tests.orchestrator.test_orchestrator_cli import env, vv  # noqa: F401 (the env fixture)


def test_vv_status_is_a_short_table_and_json_keeps_the_raw_output(box, env):  # noqa: F811
    before = vv("status", env={**env, "COLUMNS": "160"})
    assert before.returncode == 0, before.stderr
    assert "has not run yet" in before.stdout and "(no playlist yet)" in before.stdout
    box.drop("cam1/a.mp4")
    box.drop("cam1/bad.mp4", b"nope")
    assert vv("orchestrate", "--once", env=env).returncode == 0
    (box.root / "playlists" / "tv1.json").write_text(json.dumps({"items": [{"id": 1}, {"id": 2}]}))

    table = vv("status", env={**env, "COLUMNS": "160"})
    assert table.returncode == 0, table.stderr
    out = table.stdout
    assert len(out.splitlines()) < 40 and "duration_seconds_buckets" not in out
    assert "queue 0" in out and "done 1" in out and "failed 1" in out and "GiB free" in out
    scan_row = next(line for line in out.splitlines() if "│ scan" in line)
    assert scan_row.split("│")[2].strip() == "2"                       # runs of the scan stage
    assert "cam1" in out                                               # the camera and its newest segment
    tv_row = next(line for line in out.splitlines() if "│ tv1" in line)
    assert tv_row.split("│")[2].strip() == "2"                         # items on tv1
    assert "cam1_bad" in out and "not a video" in out                  # the last error

    raw = vv("status", "--json", env=env)
    assert '"duration_seconds_buckets"' in raw.stdout and "cam1_bad  failed  attempts=1" in raw.stdout
