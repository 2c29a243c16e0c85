"""The `vv` application object and the edge every command passes (the storage-root check).

Command modules (vv_cli.run, .setup, .models, .pipeline, .audit, .operations) add their commands
to :data:`app`; vv_cli.main imports them and is the console entry point.
"""

import importlib
from types import ModuleType

import typer
from typer.core import TyperCommand, TyperGroup

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



class _ToolCommand(TyperCommand):
    """A command declared in its tool's own module (arguments, help, exit codes), which `vv` imports
    only when the command runs or shows its help: `vv --help` stays instant and still lists the
    command in an image that does not carry the tool. ``target`` is ``"package.module:function"``."""

    target = ""

    def make_context(self, info_name, args, parent=None, **extra):
        return self.tool_command().make_context(info_name, args, parent=parent, **extra)

    def tool_command(self) -> TyperCommand:
        from vv_core.cli_support import fail, typer_command

        module_name, function = self.target.split(":")
        package = module_name.split(".")[0]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != package:
                raise  # the tool is there but something it needs is not: a real fault
            fail(f"`vv {self.name}` needs {package}/, which this installation does not carry")
        return typer_command(getattr(module, function))


def tool_command(typer_app: typer.Typer, name: str, target: str, summary: str) -> None:
    """Mount the typer command ``target`` (``"package.module:function"``) as ``name``; ``summary`` is
    its line in the command list (the tool's own help is shown by ``vv NAME --help``)."""
    command_class = type(f"ToolCommand[{target}]", (_ToolCommand,), {"target": target})
    typer_app.command(name, cls=command_class, help=summary)(_declared_by_the_tool)


def _declared_by_the_tool() -> None:  # pragma: no cover - _ToolCommand runs the tool's own command
    raise NotImplementedError


def stage_cli(module: str) -> ModuleType | None:
    """A stage's own CLI module, or None in an image that does not carry that stage: `vv --help`
    and every other command still work there."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the stage is there but something it needs is not: a real fault
        return None
