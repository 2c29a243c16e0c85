"""`vv`: the one console entry point for operators, cron, Docker and the orchestrator.

Stage commands follow the command contract of DESIGN.md. Stage modules are imported lazily inside
each command so `vv --help` stays instant (no torch/llama import just to print help). The commands
live by concern in this package; importing a module adds its commands to the one :data:`app`.
"""

import sys

from vv_cli import audit, diagnosis, faces, models, operations, pipeline, run, setup, worker  # noqa: F401 (they add the commands)
from vv_cli.app import app, stage_cli


def _mount_stage_clis() -> None:
    """tv_api's own typer apps, mounted as they are (their arguments are declared there, once)."""
    if (tv_api_cli := stage_cli("tv_api.cli")) is not None:
        app.add_typer(tv_api_cli.users_app, name="users")
        app.add_typer(tv_api_cli.tokens_app, name="tokens")


_mount_stage_clis()


# `vv --help` groups the commands by what an operator is doing (one table, not a panel per decorator).
HELP_PANELS = {
    "Run the box": ("up", "serve", "orchestrate", "worker", "schedule", "capture", "status"),
    "Set up": ("bootstrap", "model", "users", "tokens", "faces", "verify-install", "version"),
    "Pipeline stages": ("scan", "summarize", "logline", "ingest", "search"),
    "Trust and audit": ("verify", "keys", "proof", "witness"),
    "Operations": ("backup", "restore", "restore-drill", "cleanup", "export-logs", "self-monitor", "diagnose",
                   "drill", "update", "alert"),
}


def _assign_help_panels() -> None:
    panel_of = {name: panel for panel, names in HELP_PANELS.items() for name in names}
    for info in [*app.registered_commands, *app.registered_groups]:
        callback = getattr(info, "callback", None)
        name = info.name or (callback.__name__.replace("_", "-") if callback else None)
        if name in panel_of:
            info.rich_help_panel = panel_of[name]
    order = list(HELP_PANELS)     # panels show in the order of their first command: "Run the box" first
    app.registered_commands.sort(key=lambda info: order.index(info.rich_help_panel or "Operations"))


_assign_help_panels()


def main() -> None:
    """The CLI edge: a bad setting (in .env or the environment) is one line naming it, on every command."""
    from vv_core.config_errors import is_settings_error, settings_error_line

    try:
        app(prog_name="vv")  # the same name however it was started (console script, -m vv_cli, a shim)
    except Exception as exc:
        if not is_settings_error(exc):
            raise
        print(f"error: {settings_error_line(exc)}", file=sys.stderr)  # type: ignore[arg-type]
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
