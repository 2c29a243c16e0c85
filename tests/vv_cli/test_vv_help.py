"""`vv --help` (issue 19): every command, grouped by what an operator is doing; every option has a help text."""

import typer

from tests.vv_cli.test_vv_cli import run_vv
from vv_cli.main import HELP_PANELS, app

COMMANDS = {"alert", "backup", "bootstrap", "capture", "cleanup", "diagnose", "drill", "export-logs", "faces",
            "ingest", "keys", "logline",
            "model", "orchestrate", "proof", "restore", "restore-drill", "scan", "schedule", "search",
            "self-monitor", "serve", "status", "summarize", "tokens", "up", "update", "users", "verify",
            "verify-install", "version", "witness", "worker"}


def leaves(command, path: str = ""):
    # typer 0.29 builds its commands with its own copy of click, so a group is known by its
    # subcommands, not by isinstance against the click installed beside it.
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from leaves(sub, f"{path} {name}".strip())
    else:
        yield path, command


def test_every_command_is_in_a_panel_and_every_option_has_help():
    root = typer.main.get_command(app)
    assert set(root.commands) == COMMANDS
    assert {name for names in HELP_PANELS.values() for name in names} == COMMANDS
    for path, command in leaves(root):
        assert (command.help or "").strip(), f"vv {path} has no help"
        missing = [p.name for p in command.params if p.param_type_name == "option" and not p.help]
        assert not missing, f"vv {path}: options without help: {missing}"


def test_vv_help_shows_the_panels_run_the_box_first(cli_env):
    result = run_vv("--help", env={**cli_env, "COLUMNS": "120"})
    assert result.returncode == 0
    positions = [result.stdout.index(f"─ {panel} ") for panel in HELP_PANELS]
    assert positions == sorted(positions)
    assert " up " in result.stdout
