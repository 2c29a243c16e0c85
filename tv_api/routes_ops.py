"""Operations: the health probe, /status and /metrics (admin), device-token management (admin)."""

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from tv_api.auth.store import AuthStoreError
from tv_api.services import services
from tv_api.status import build_status

router = APIRouter(tags=["operations"])


class DeviceTokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    days: int | None = Field(None, ge=1, le=3650)
    tv: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,32}$",
                           description="The TV a display token may read (default: the device name).")
    any_tv: bool = Field(False, description="Issue a display token for every TV (not bound).")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/status")
async def status(request: Request) -> JSONResponse:
    svc = services(request)
    document = await run_in_threadpool(build_status, svc.settings, svc.started_at)
    return JSONResponse(document, headers={"Cache-Control": "no-store"})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(services(request).metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/api/admin/devices")
async def list_devices(request: Request) -> list[dict]:
    return services(request).tokens.registry.devices()


@router.post("/api/admin/devices", status_code=201, responses={422: {}})
async def issue_device(request: Request, body: DeviceTokenRequest) -> Response:
    svc = services(request)
    days = body.days or svc.settings.tv_api_display_token_days
    bound = None if body.any_tv else (body.tv or body.name)
    try:
        token, principal = svc.tokens.issue_device_token(body.name, days * 86400, tv=bound)
    except ValueError:
        return JSONResponse({"detail": "the device name is not a TV name: give tv"}, status_code=422)
    return JSONResponse({"name": body.name, "jti": principal.jti, "token": token,
                         "expires_at": principal.expires_at, "tv": principal.tv}, status_code=201)


@router.delete("/api/admin/devices/{name_or_jti}", responses={404: {}})
async def revoke_device(request: Request, name_or_jti: str) -> JSONResponse:
    try:
        revoked = services(request).tokens.registry.revoke_device(name_or_jti)
    except AuthStoreError:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return JSONResponse({"revoked": revoked})
