"""`vv serve`, `vv users add|list|remove`, `vv tokens issue|list|revoke` (thin: parse and call)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from tv_api.settings import TvApiSettings
from vv_core.cli_support import fail

users_app = typer.Typer(help="tv_api users (admin / display) with PBKDF2 password hashes.", no_args_is_help=True)
tokens_app = typer.Typer(help="Long-lived, revocable device tokens for TVs.", no_args_is_help=True)


def _stores():
    from tv_api.auth.store import AuthStoreError, TokenRegistry, UserStore

    directory = Path(TvApiSettings().tv_api_secrets_dir)
    return UserStore(directory), TokenRegistry(directory), AuthStoreError


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin or display")] = "admin",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin (scripts).")] = False,
    replace: Annotated[bool, typer.Option(help="Replace an existing user's password/role.")] = False,
) -> None:
    """Add a user (the password is prompted, never an argument)."""
    users, _, error = _stores()
    try:
        user = users.add(name, _read_password(password_stdin), role, replace=replace)
    except error as exc:
        fail(str(exc))
    print(f"{user.name}\t{user.role}")


@users_app.command("list")
def users_list() -> None:
    """List the console users: name, role, created."""
    users, _, error = _stores()
    try:
        for user in users.list():
            print(f"{user.name}\t{user.role}\t{user.created_at}")
    except error as exc:
        fail(str(exc))


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="The user to remove.")]) -> None:
    """Remove a console user by name."""
    users, _, error = _stores()
    try:
        users.remove(name)
    except error as exc:
        fail(str(exc))
    print(name)


@tokens_app.command("issue")
def tokens_issue(
    name: Annotated[str, typer.Argument(help="Device name, e.g. tv-lobby.")],
    days: Annotated[int | None, typer.Option(help="Lifetime (default TV_API_DISPLAY_TOKEN_DAYS).")] = None,
    role: Annotated[str, typer.Option(help="display (TVs) or admin (e.g. a Prometheus scraper).")] = "display",
    tv: Annotated[str | None, typer.Option(help="The TV whose playlist a display token may read "
                                                "(default: the device name).")] = None,
    any_tv: Annotated[bool, typer.Option(help="A display token for every TV's playlist (e.g. a test "
                                              "screen); not bound to one TV.")] = False,
) -> None:
    """Issue a device token and print it. Pair a TV by opening tv.html?tv=<tv>#token=<token> once."""
    from tv_api.auth.store import load_jwt_secret
    from tv_api.auth.tokens import TokenService

    settings = TvApiSettings()
    _, registry, error = _stores()
    if role not in ("display", "admin"):
        fail("role must be display or admin")
    bound = None if any_tv or role != "display" else (tv or name)
    try:
        service = TokenService(load_jwt_secret(settings), registry)
        token, principal = service.issue_device_token(
            name, (days or settings.tv_api_display_token_days) * 86400, role=role, tv=bound
        )
    except ValueError:
        fail(f"{bound!r} is not a TV name (letters, digits, _ -): pass the TV this device shows with --tv")
    except error as exc:
        fail(str(exc))
    scope = f"TV {bound!r}" if bound else ("every TV" if role == "display" else "admin")
    print(f"device token id {principal.jti} for {name!r} ({scope})", file=sys.stderr)
    print(token)


@tokens_app.command("list")
def tokens_list() -> None:
    """List the device tokens: id, device, role, TV, expiry, live or revoked."""
    _, registry, error = _stores()
    try:
        for entry in registry.devices():
            state = f"revoked {entry['revoked_at']}" if entry.get("revoked_at") else "live"
            scope = f"tv {entry['tv']}" if entry.get("tv") else "any tv"
            print(f"{entry['jti']}\t{entry['name']}\t{entry['role']}\t{scope}\t"
                  f"expires {entry['expires_at']}\t{state}")
    except error as exc:
        fail(str(exc))


@tokens_app.command("revoke")
def tokens_revoke(name_or_id: Annotated[str, typer.Argument(help="Device name (all its tokens) or token id.")]) -> None:
    """Revoke a device's tokens (or one token by id); prints each revoked token id."""
    _, registry, error = _stores()
    try:
        for jti in registry.revoke_device(name_or_id):
            print(jti)
    except error as exc:
        fail(str(exc))
