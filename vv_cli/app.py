"""The `vv` application object and the edge every command passes (the storage-root check).

Command modules (vv_cli.run, .setup, .models, .pipeline, .audit, .operations) add their commands
to :data:`app`; vv_cli.main imports them and is the console entry point.
"""

import importlib
from types import ModuleType
from typing import Any

import typer
from typer.core import TyperGroup

from vv_cli.settings import Settings


class _VvGroup(TyperGroup):
    """Notes whether the subcommand's own arguments ask for its help: the storage-root check below runs
    before they are parsed, and `vv backup --help` must work without a storage tree."""

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta["vv.asks_help"] = any(arg in ("--help", "-h") for arg in rest)
        return name, command, rest


app = typer.Typer(
    cls=_VvGroup,
    name="vv",
    help="vv-video-ai-system: scan, summarize, sign and schedule video on an edge box.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Commands that run the box on its storage tree: they refuse a VIDEO_STORAGE_ROOT that does not exist
# (a typo) rather than create an empty tree; `vv bootstrap` creates it.
_BOX_COMMANDS = {"up", "serve", "orchestrate", "schedule", "status", "capture", "cleanup", "backup"}


@app.callback()
def _cli_edge(ctx: typer.Context) -> None:
    asks_help = ctx.meta.get("vv.asks_help", False)
    if ctx.invoked_subcommand in _BOX_COMMANDS and not ctx.resilient_parsing and not asks_help:
        from vv_core.cli_support import fail
        from vv_core.errors import VVError
        from vv_core.storage import require_storage_root

        try:
            require_storage_root(Settings().video_storage_root)
        except VVError as exc:
            fail(str(exc))



# Commands whose arguments belong to a tool's own parser (each tool also runs standalone as its
# blueprint script): `vv` passes them through untouched, so they are declared once, in that parser.
PASSTHROUGH: dict[str, Any] = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def pass_through(main: Any, ctx: typer.Context) -> None:
    """Run a tool's ``main(argv)`` with the command's raw arguments; its return value is the exit code."""
    raise typer.Exit(main(ctx.args) or 0)


def stage_cli(module: str) -> ModuleType | None:
    """A stage's own CLI module, or None in an image that does not carry that stage: `vv --help`
    and every other command still work there."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the stage is there but something it needs is not: a real fault
        return None
