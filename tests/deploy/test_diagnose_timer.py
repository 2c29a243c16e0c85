"""vv-diagnose.service/.timer and its cron fallback: `vv diagnose --fix --apply --alert` every 5
minutes; a periodic run alerts a standing fault once per de-duplication window and does not load
the LLM when fewer than two causes match. (systemd-analyze verify: tests/deploy/test_lint.py.)"""

import configparser
import json
import re
import shlex
import subprocess
import sys

from tests.helpers import REPO_ROOT
from tests.webhook_server import WebhookServer
from vv_core.keystore import create_key_store

COMMAND = "vv diagnose --fix --apply --alert"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str   # systemd keys are case-sensitive
    parser.read_string((REPO_ROOT / name).read_text())
    return parser


def test_the_timer_runs_the_diagnosis_every_five_minutes():
    timer, service = unit("vv-diagnose.timer"), unit("vv-diagnose.service")
    assert timer["Timer"]["Unit"] == "vv-diagnose.service" and timer["Timer"]["OnUnitActiveSec"] == "5min"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"] == f"/usr/bin/env {COMMAND}"
    assert service["Service"]["SuccessExitStatus"] == "1"   # "a fault matches" is not a failed unit
    assert service["Service"]["TimeoutStartSec"] == "4min"  # ends before the next run is due


def test_the_cron_fallback_runs_the_same_command_only_where_systemd_is_not_pid_1():
    lines = [line for line in (REPO_ROOT / "deploy/cron/vv-video-ai").read_text().splitlines()
             if "vv diagnose" in line and not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(None, 6)
    assert fields[:6] == ["*/5", "*", "*", "*", "*", "root"]
    assert fields[6].startswith('[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || ')
    assert f"flock -n storage/state/diagnose.lock {COMMAND} >>" in fields[6]


def test_the_command_exists_with_these_options(cli_env):
    args = shlex.split(COMMAND)[1:]
    result = subprocess.run([sys.executable, "-m", "vv_cli", *args, "--help"], env=cli_env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_a_periodic_run_alerts_a_standing_fault_once_per_window_without_loading_the_llm(cli_env, storage_root):
    create_key_store(cli_env["KEY_STORE_PATH"], "timer-key")   # one fault left: the scratch box has no detector
    with WebhookServer() as hook:
        env = {**cli_env, "DIAGNOSE_STATUS_URL": "", "DIAGNOSE_USE_LLM": "true",
               "ALERT_WEBHOOK_URL": hook.url, "ALERT_DEDUP_WINDOW_S": "900",
               "DIAGNOSE_DISK_FULL_PERCENT": "100"}   # the host disk (the temp root's) is not this test's fault
        runs = [subprocess.run([sys.executable, "-m", "vv_cli", *shlex.split(COMMAND)[1:], "--json"], env=env,
                               capture_output=True, text=True, timeout=60, cwd=storage_root.parent, check=False)
                for _ in range(2)]   # two timer runs 5 minutes (here: seconds) apart
        alerts = hook.bodies()
    documents = [json.loads(run.stdout) for run in runs]
    assert [run.returncode for run in runs] == [1, 1], runs[0].stderr
    assert all([c["fault"] for c in d["causes"]] == ["detector_model_missing"] for d in documents)
    assert all(d["llm_note"] == "one cause matches: nothing to rank" for d in documents)   # the LLM not loaded
    assert all({a["outcome"] for a in d["actions"]} <= {"disabled"} for d in documents)   # every fix off by default
    titles = [a["title"] for a in alerts]
    assert len(titles) == 1 and re.match(r"diagnosis: ", titles[0]), titles   # the second run's is de-duplicated
