"""The operator console: server-rendered pages under /console/ (admin only), see docs/console.md."""


def register(app) -> None:
    """Mount the console's routes on tv_api's FastAPI app (imported here: `vv` imports this package)."""
    from tv_api.console import routes_actions, routes_pages

    app.include_router(routes_pages.router)
    app.include_router(routes_actions.router)
