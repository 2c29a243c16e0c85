"""`vv`'s tool commands (orchestrate, capture, cleanup, export-logs, self-monitor, ingest …): each is
declared once, as a typer command in the tool's own module, and `vv` mounts it; no command hands raw
arguments on to a parser of its own. The tool's ``main(argv)`` runs the same command."""

import pytest
import typer
from typer.testing import CliRunner

import vv_cli.app
from ops.upkeep import cleanup, log_exporter
from orchestrator import cli as orchestrator_cli
from vv_cli.main import app
from vv_ingest import process_video

TOOL_OPTIONS = {
    "orchestrate": ["--once", "--loop"],
    "capture": ["--camera", "--duration", "--no-http"],
    "cleanup": ["--days", "--dirs", "--dry-run", "--apply", "--disk-pressure", "--min-free-percent"],
    "export-logs": ["--output-dir", "--verify"],
    "self-monitor": ["--once", "--loop"],
    "ingest process": ["--output-dir", "--tag", "--title"],
    "ingest catalog": ["--library"],
    "ingest curate": ["--force"],
}


def leaves(command, path=""):
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield path, command
        return
    for name, sub in subcommands.items():
        yield from leaves(sub, f"{path} {name}".strip())


def declared(command):
    """The command that parses the arguments: a tool's own, for the commands `vv` mounts lazily."""
    return command.tool_command() if hasattr(command, "tool_command") else command


def test_no_command_relays_raw_arguments():
    assert not hasattr(vv_cli.app, "PASSTHROUGH") and not hasattr(vv_cli.app, "pass_through")
    commands = dict(leaves(typer.main.get_command(app)))
    assert set(TOOL_OPTIONS) <= set(commands)
    for path, command in commands.items():
        parser = declared(command)
        assert not parser.allow_extra_args and not parser.ignore_unknown_options, f"vv {path} relays argv"
        assert parser.add_help_option, f"vv {path} leaves --help to someone else"
        missing = [p.name for p in parser.params if p.param_type_name == "option" and not p.help]
        assert not missing, f"vv {path}: options without help: {missing}"


@pytest.mark.parametrize("path", TOOL_OPTIONS)
def test_tool_help_lists_its_options(path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, [*path.split(), "--help"], prog_name="vv")
    assert result.exit_code == 0, result.output
    assert f"Usage: vv {path} [OPTIONS]" in result.output
    for option in TOOL_OPTIONS[path]:
        assert f" {option} " in result.output, f"vv {path} --help does not list {option}"


def test_main_returns_the_exit_code_of_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert cleanup.main(["--bogus"]) == 2
    assert "No such option: --bogus" in capsys.readouterr().err
    assert orchestrator_cli.main(["--once", "--loop"]) == 2
    assert "--loop is not allowed with --once" in capsys.readouterr().err
    assert process_video.main([]) == 2  # VIDEO|FOLDER is required
    assert "Missing argument 'inputs'" in capsys.readouterr().err
    assert log_exporter.main(["--help"]) == 0
    assert "--verify" in capsys.readouterr().out
