"""tv_api: the FastAPI app TVs and operators talk to. ``create_app(settings)`` builds one."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tv_api import console, routes_auth, routes_content, routes_ops, routes_transparency
from tv_api.guard import GuardMiddleware
from tv_api.services import Services
from tv_api.settings import TvApiSettings
from vv_core import __version__

log = logging.getLogger("tv_api")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # The console indexes in a background thread: it ends with the app, not with the process (a test
    # run builds many apps; their threads went on polling deleted folders and logging to closed streams).
    console_state = getattr(app.state, "console", None)
    if console_state is not None:
        console_state.stop()


def create_app(settings: TvApiSettings) -> FastAPI:
    svc = Services.from_settings(settings)
    # No /docs or /openapi.json on a box facing TVs: the spec is for tests and operators (app.openapi()).
    app = FastAPI(title="vv tv_api", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_lifespan)
    app.state.services = svc
    app.include_router(routes_ops.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_content.router)
    app.include_router(routes_transparency.router)
    console.register(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Same body for every 404/405: never echo paths back.
        detail = "not found" if exc.status_code == 404 else "request not allowed"
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in exc.errors()})
        return JSONResponse({"detail": "invalid request", "fields": fields}, status_code=422)

    app.add_middleware(GuardMiddleware, tokens=svc.tokens, metrics=svc.metrics, playlists=svc.playlists)
    return app
