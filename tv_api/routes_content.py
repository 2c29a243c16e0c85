"""What TVs fetch: playlists (ETag), media (HTTP Range), thumbnails, the MJPEG mirror, the pages."""

import logging
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from tv_api.files import NotServable, resolve_media
from tv_api.mirror import BOUNDARY, mjpeg_stream, snapshot_info, snapshot_path
from tv_api.playlists import playlist_answer
from tv_api.services import services
from tv_api.thumbnails import ThumbnailError, thumbnail_for
from vv_core.jsonlog import utc_timestamp

log = logging.getLogger("tv_api.content")
router = APIRouter(tags=["content"])

REPO_ROOT = Path(__file__).resolve().parents[1]
UI_DIRS = {"tv": REPO_ROOT / "tv_ui", "mirror": REPO_ROOT / "tv_mirror_ui", "login": Path(__file__).parent / "static"}
UI_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
NOT_FOUND = {"detail": "not found"}
# Media under processed/ and tv_curado/ never changes in place (new content gets a new name).
MEDIA_CACHE = "private, max-age=3600"


def not_found() -> JSONResponse:
    return JSONResponse(NOT_FOUND, status_code=404)


@router.get("/api/playlists/{tv}", responses={304: {}, 403: {}, 404: {}, 503: {}})
async def playlist(request: Request, tv: str,
                   if_none_match: Annotated[str | None, Header()] = None) -> Response:
    # GET is answered by the guard's fast path; this route serves the spec (and the same rules).
    principal = request.scope["state"]["principal"]
    if not principal.may_read_playlist(tv):
        return JSONResponse({"detail": "this device token is paired with another TV"}, status_code=403)
    status, headers, body = playlist_answer(services(request).playlists, tv, if_none_match)
    return Response(body, status_code=status, headers=headers)


@router.get("/media/{relative:path}", responses={206: {}, 404: {}, 416: {}})
async def media(request: Request, relative: str) -> Response:
    try:
        path = resolve_media(services(request).settings.storage.root, relative)
    except NotServable:
        return not_found()
    return FileResponse(path, headers={"Cache-Control": MEDIA_CACHE})


@router.get("/thumbnails/{relative:path}", responses={404: {}})
async def thumbnail(request: Request, relative: str) -> Response:
    storage = services(request).settings.storage
    try:
        media_path = resolve_media(storage.root, relative)
        thumb = await run_in_threadpool(thumbnail_for, media_path, storage.thumbnails)
    except (NotServable, ThumbnailError):
        return not_found()
    return FileResponse(thumb, headers={"Cache-Control": MEDIA_CACHE})


@router.get("/mirror/{camera}", responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}},
                                           404: {}})
async def mirror(request: Request, camera: str) -> Response:
    svc = services(request)
    path = snapshot_path(svc.settings.storage.camera_snapshots, camera.removesuffix(".mjpg"))
    if path is None:
        return not_found()
    stream = mjpeg_stream(path, fps=svc.settings.tv_api_mirror_fps,
                          stale_seconds=svc.settings.tv_api_snapshot_stale_seconds,
                          max_seconds=svc.settings.tv_api_mirror_max_seconds,
                          placeholder=svc.placeholder_frame)
    return StreamingResponse(stream, media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/mirror/{camera}/info", responses={404: {}})
async def mirror_info(request: Request, camera: str) -> Response:
    """The camera's name, when its current frame was taken, and whether that is stale (tv_mirror.html)."""
    svc = services(request)
    path = snapshot_path(svc.settings.storage.camera_snapshots, camera)
    if path is None:
        return not_found()
    info = await run_in_threadpool(snapshot_info, path, svc.settings.tv_api_snapshot_stale_seconds)
    return JSONResponse({"camera": camera, **info}, headers={"Cache-Control": "no-store"})


@router.get("/api/clock")
async def clock(request: Request) -> Response:
    """The box's time and time zone (public): TV pages show times in the box's zone, not the TV's."""
    now = time.time()
    return JSONResponse({"timezone": services(request).box_timezone, "now": utc_timestamp(now),
                         "now_ms": int(now * 1000)}, headers={"Cache-Control": "no-store"})


@router.get("/tv_sw.js", include_in_schema=False)
async def tv_service_worker() -> Response:
    # Served from the root so its scope covers /tv.html, /api/ and /media/ (a worker under /ui/tv/
    # could only control /ui/tv/). no-cache: browsers check it for updates on every navigation.
    return FileResponse(UI_DIRS["tv"] / "tv_sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


def _page(path: Path) -> Response:
    return FileResponse(path, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/tv.html", include_in_schema=False)
async def tv_page() -> Response:
    return _page(UI_DIRS["tv"] / "tv.html")


@router.get("/tv_mirror.html", include_in_schema=False)
async def mirror_page() -> Response:
    return _page(UI_DIRS["mirror"] / "tv_mirror.html")


@router.get("/login", include_in_schema=False)
async def login_page() -> Response:
    return _page(Path(__file__).parent / "static" / "login.html")


@router.get("/ui/{section}/{name}", include_in_schema=False)
async def ui_asset(section: str, name: str) -> Response:
    directory = UI_DIRS.get(section)
    suffix = Path(name).suffix
    if directory is None or suffix not in UI_TYPES or "/" in name or name.startswith("."):
        return not_found()
    path = directory / name
    if not path.is_file():
        return not_found()
    return FileResponse(path, media_type=UI_TYPES[suffix], headers={"Cache-Control": "no-cache"})
