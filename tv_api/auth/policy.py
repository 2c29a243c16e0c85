"""Who may call what. Every route is admin-only unless listed here: deny by default.

Public: the health probe, the login page and auth endpoints (they check credentials themselves),
the static HTML/JS shells of the TV pages (they hold no data), and the fallback assets, so a TV
that has lost its pairing still shows the silent loop instead of a black screen.
Display (TV device tokens) and admin: playlists, media, thumbnails, the mirror stream.
"""

PUBLIC_PATHS = frozenset({
    "/healthz", "/login", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout",
    "/api/auth/device", "/api/auth/check", "/tv.html", "/tv_mirror.html", "/favicon.ico",
})
PUBLIC_PREFIXES = ("/ui/", "/media/fallback/", "/transparency/")  # hashes only: routes_transparency
DISPLAY_PREFIXES = ("/api/playlists/", "/media/", "/thumbnails/", "/mirror/")
DISPLAY_PATHS = frozenset({"/api/auth/me"})

ROLE_RANK = {"display": 1, "admin": 2}


def required_role(path: str) -> str | None:
    """None for a public path, else the least role that may call it."""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if path in DISPLAY_PATHS or path.startswith(DISPLAY_PREFIXES):
        return "display"
    return "admin"


def role_allows(role: str, needed: str) -> bool:
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]
