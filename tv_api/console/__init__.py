"""The operator console: server-rendered pages under /console/ (admin only), see docs/console.md."""

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    from tv_api.console import routes_actions, routes_pages

    app.include_router(routes_pages.router)
    app.include_router(routes_actions.router)
