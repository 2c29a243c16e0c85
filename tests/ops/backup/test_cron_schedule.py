"""deploy/cron/vv-backup: valid cron.d lines whose vv commands and options really exist."""

import re
import shlex
import subprocess
import sys

from tests.helpers import REPO_ROOT, repo_env

CRON_FILE = REPO_ROOT / "deploy" / "cron" / "vv-backup"
FIELD = r"(\*|[0-9]+(-[0-9]+)?(,[0-9]+)*)(/[0-9]+)?"


def schedule_lines():
    lines = [line for line in CRON_FILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [line for line in lines if not re.match(r"^[A-Z_]+=", line)]


def test_every_line_is_a_cron_d_entry_running_a_real_vv_command():
    lines = schedule_lines()
    assert len(lines) == 3
    seen = set()
    for line in lines:
        fields = line.split(None, 6)
        assert all(re.fullmatch(FIELD, f) for f in fields[:5]), line
        assert fields[5] == "root"
        command = fields[6]
        vv_part = command.split("&&", 1)[1].split(">>", 1)[0]
        args = shlex.split(vv_part)[1:]
        seen.add(" ".join(args))
        help_result = subprocess.run([sys.executable, "-m", "vv_cli.main", *args, "--help"], env=repo_env(),
                                     capture_output=True, text=True, check=False, timeout=60)
        assert help_result.returncode == 0, (line, help_result.stderr)
    assert seen == {"backup", "backup --media", "restore-drill"}
