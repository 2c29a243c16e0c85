"""The command contract every stage CLI follows (DESIGN.md): success prints the path written and
exits 0; failure prints one line on stderr and exits non-zero, having written nothing partial."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from vv_core.config_errors import is_settings_error, settings_error_line
from vv_core.errors import VVError

if TYPE_CHECKING:
    from typer.core import TyperCommand

T = TypeVar("T")

EXIT_FAILURE = 1        # the input or its configuration is wrong (permanent for this input)
EXIT_INTERNAL = 2       # a bug or an environment fault (worth retrying / reporting)


def one_line(message: object) -> str:
    return " ".join(str(message).split())


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print one line to stderr and exit."""
    print(f"error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code)


def reason_and_code(exc: Exception) -> tuple[str, int]:
    """What an error means for the command contract: our own errors are the input's or the
    configuration's fault (exit 1); anything else is internal (exit 2)."""
    if isinstance(exc, VVError):
        return str(exc), EXIT_FAILURE
    if is_settings_error(exc):
        return settings_error_line(exc), EXIT_FAILURE  # type: ignore[arg-type]
    return f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL


def guarded(action: Callable[[], T]) -> T:
    """Run ``action`` and return its result; any error becomes one stderr line and an exit code."""
    try:
        return action()
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:  # last line of defence: never a traceback as the only message
        fail(*reason_and_code(exc))


def run_stage(action: Callable[[], Path | list[Path]]) -> None:
    """Run a stage action; print each path it wrote, or fail with one line."""
    written = guarded(action)
    for path in written if isinstance(written, list) else [written]:
        print(path)


def typer_command(function: Callable[..., object]) -> "TyperCommand":
    """The command typer builds from an annotated function: a tool declares its arguments once, in that
    function, and both its own ``main(argv)`` and `vv` run it."""
    import typer

    app = typer.Typer(add_completion=False)
    app.command()(function)
    return typer.main.get_command(app)  # type: ignore[return-value]


def run_command(function: Callable[..., object], argv: list[str] | None, prog_name: str,
                **overrides: object) -> int:
    """A tool's ``main(argv)``: run its typer command on ``argv`` (default: sys.argv[1:]) and return the
    exit code instead of exiting. ``overrides`` (a test's settings, say) reach the command as
    ``ctx.obj``. Help, usage errors (exit 2, one line naming the option) and the tool's own exit
    codes come out exactly as under `vv`: typer ends each of them with SystemExit, caught here."""
    try:
        typer_command(function).main(args=argv, prog_name=prog_name, obj=overrides)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0  # pragma: no cover - standalone mode always ends with SystemExit
