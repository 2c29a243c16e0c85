"""The command contract for operator tools whose result is a report (backup, restore drill).

Like a stage (vv_core.cli_support): failure is one line on stderr and a non-zero exit. Success
prints the report as one JSON object on stdout, so cron mail, `jq` and tests read the same thing.
A report with ``"status": "fail"`` exits 1 after printing it: the drill ran, the data did not pass.
"""

import json
from collections.abc import Callable
from typing import Any

from vv_core.cli_support import EXIT_FAILURE, guarded


def run_json_command(action: Callable[[], dict[str, Any]]) -> None:
    report = guarded(action)
    print(json.dumps(report, sort_keys=True))
    if report.get("status") == "fail":
        raise SystemExit(EXIT_FAILURE)
