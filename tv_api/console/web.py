"""Rendering and the rules every console response follows: strict CSP, no caching, CSRF on POSTs.

Authentication and the admin role are the guard's (tv_api/guard.py: /console/* is admin-only by
the deny-by-default policy). Here: the page shell, the per-session CSRF token (an HMAC of the
session's token id, so it dies with the session) and the audit log line of every action.
"""

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tv_api.auth.tokens import Principal
from tv_api.console.state import ConsoleState, console_state

log = logging.getLogger("tv_api.console")
TEMPLATES = Path(__file__).parent / "templates"
# No inline script or style anywhere; media and frames only from this origin.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
CSRF_FIELD, CSRF_HEADER = "csrf_token", "x-csrf-token"

environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                          trim_blocks=True, lstrip_blocks=True)


def principal(request: Request) -> Principal:
    return request.scope["state"]["principal"]


def local_time(state: ConsoleState, timestamp: float | None, with_date: bool = True) -> str:
    """A UTC timestamp in the box's zone (CONSOLE_TIMEZONE, else the system's local zone)."""
    if not timestamp:
        return "never"
    moment = datetime.fromtimestamp(timestamp, UTC).astimezone(state.zone)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z" if with_date else "%H:%M:%S")


def ago(timestamp: float | None) -> str:
    if not timestamp:
        return "never"
    seconds = max(0, int(time.time() - timestamp))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = console_state(request)
    who = principal(request)
    body = environment.get_template(template).render(
        request_path=request.url.path, user=who.subject, csrf=state.csrf_token(who.jti),
        zone=state.zone.key if state.zone else time.strftime("%Z"),
        local_time=lambda ts, with_date=True: local_time(state, ts, with_date), ago=ago, **context)
    return HTMLResponse(body, status_code=status_code, headers=HEADERS)


async def check_csrf(request: Request) -> bool:
    """The POST carries this session's CSRF token (form field or header) and comes from this origin."""
    state = console_state(request)
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if request.headers.get("sec-fetch-site") not in (None, "same-origin", "none"):
        return False
    return state.csrf_ok(principal(request).jti, token)


def audit(request: Request, action: str, **details: Any) -> None:
    """One JSON log line per admin action, with who did it."""
    log.info("console action", extra={"action": action, "user": principal(request).subject, **details})


def refused(request: Request) -> HTMLResponse:
    return render(request, "message.html", status_code=403, title="Refused",
                  message="This action was refused: the form was stale or did not come from this console. "
                          "Reload the page and try again.")
