"""Who may call what. Every route is admin-only unless listed here: deny by default.

Public: the health probe, the login page and auth endpoints (they check credentials themselves),
the static HTML/JS shells of the TV pages and their service worker (they hold no data), the box's
clock and time zone, and the fallback assets, so a TV that has lost its pairing still shows the
silent loop and the time instead of a black screen.
Display (TV device tokens) and admin: playlists, media, thumbnails, the mirror stream.

Decisions are made on the normalised path (percent-decoded, dot segments resolved, slashes
collapsed), which is what nginx serves: ``/media/fallback/../processed/x.mp4`` is a request for
``/media/processed/x.mp4`` and needs a display token, never the public fallback's pass.
"""

from dataclasses import dataclass
from urllib.parse import unquote

PUBLIC_PATHS = frozenset({
    "/healthz", "/login", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout",
    "/api/auth/device", "/api/auth/check", "/tv.html", "/tv_mirror.html", "/favicon.ico",
    "/tv_sw.js", "/api/clock",
})
PUBLIC_PREFIXES = ("/ui/", "/media/fallback/", "/transparency/")  # hashes only: routes_transparency
DISPLAY_PREFIXES = ("/api/playlists/", "/media/", "/thumbnails/", "/mirror/")
DISPLAY_PATHS = frozenset({"/api/auth/me"})

ROLE_RANK = {"display": 1, "admin": 2}

# Encoded "/", "\" and NUL: servers disagree on whether they separate segments, so none is served.
_AMBIGUOUS_ESCAPES = ("%2f", "%5c", "%00")


class BadPath(ValueError):
    """A path no server should act on (the reason is for logs only)."""


@dataclass(frozen=True)
class NormalPath:
    path: str        # percent-decoded, dot segments resolved, slashes collapsed
    canonical: bool  # the request already had that form (no dot segments, no empty segments)


def normalise_path(raw: str) -> NormalPath:
    """The path a request really names, from its raw (still percent-encoded) form.

    Raises BadPath for encoded slashes, backslashes or NUL, control characters, a ``%`` left after
    decoding (double encoding), text that is not UTF-8, and ``..`` climbing above the root.
    """
    raw = raw.split("?", 1)[0] or "/"
    if not raw.startswith("/"):
        raise BadPath("not an absolute path")
    if any(escape in raw.lower() for escape in _AMBIGUOUS_ESCAPES):
        raise BadPath("encoded slash, backslash or NUL")
    try:
        decoded = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise BadPath("not UTF-8") from None
    if "%" in decoded or "\\" in decoded or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        raise BadPath("double encoding, backslash or control character")
    segments = decoded.split("/")[1:]
    kept: list[str] = []
    for segment in segments:
        if segment in ("", "."):
            continue
        if segment == "..":
            if not kept:
                raise BadPath("climbs above the root")
            kept.pop()
        else:
            kept.append(segment)
    trailing = "/" if segments[-1] in ("", ".", "..") and kept else ""
    path = "/" + "/".join(kept) + trailing
    return NormalPath(path, canonical=path == decoded)


def required_role(path: str) -> str | None:
    """None for a public path, else the least role that may call it (``path`` already normalised)."""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if path in DISPLAY_PATHS or path.startswith(DISPLAY_PREFIXES):
        return "display"
    return "admin"


def role_allows(role: str, needed: str) -> bool:
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]
