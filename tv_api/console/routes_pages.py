"""The console's pages (GET): dashboard, live, review, search, audit, quarantine, faces, TVs."""

import json
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from tv_api.console import overview, quarantine
from tv_api.console.audit import audit_logline
from tv_api.console.faces import FaceStoreError
from tv_api.console.frames import FrameError, event_frame
from tv_api.console.index import Filters
from tv_api.console.state import console_state
from tv_api.console.web import HEADERS, render
from tv_api.mirror import snapshot_path
from tv_api.services import services
from tv_api.status import build_status
from vv_core.errors import VVError
from vv_core.keystore import load_key_store

router = APIRouter(include_in_schema=False)
STATUSES = ("alerta", "confirmado", "experimental", "curado")
PAGE_SIZE = 50


@router.get("/")
async def root() -> Response:
    """A signed-in admin goes to the console (the guard sends a visitor to the login page)."""
    return RedirectResponse("/console/", status_code=303)


def _filters(request: Request, camera: str, label: str, person: str, status: str, since: str,
             until: str) -> Filters:
    zone = console_state(request).zone

    def moment(text: str) -> float | None:
        """A form's local date-time (in the console's zone; naive = the box's local zone)."""
        try:
            parsed = datetime.fromisoformat(text) if text else None
        except ValueError:
            return None
        if parsed is None:
            return None
        return (parsed.replace(tzinfo=zone) if zone and parsed.tzinfo is None else parsed).timestamp()

    return Filters(camera=camera[:64], label=label[:64], person=person[:80],
                   status=status if status in STATUSES else "", since_ts=moment(since), until_ts=moment(until))


FilterArgs = dict(camera=Query("", max_length=64), label=Query("", max_length=64), person=Query("", max_length=80),
                  status=Query("", max_length=16), since=Query("", max_length=32), until=Query("", max_length=32))


@router.get("/console/")
async def dashboard(request: Request) -> Response:
    return render(request, "dashboard.html", **await _dashboard_data(request))


@router.get("/console/fragments/dashboard")
async def dashboard_fragment(request: Request) -> Response:
    return render(request, "dashboard_body.html", **await _dashboard_data(request))


async def _dashboard_data(request: Request) -> dict:
    svc, state = services(request), console_state(request)
    settings = svc.settings
    status = await run_in_threadpool(build_status, settings, svc.started_at)
    cams = await run_in_threadpool(overview.cameras, settings.storage.root, settings.tv_api_snapshot_stale_seconds)
    await run_in_threadpool(state.index.refresh)
    alerts = await run_in_threadpool(state.index.review, Filters(status="alerta"), 5)
    tvs = await run_in_threadpool(overview.playlists, settings.storage.playlists)
    return {"status": overview.status_in_words(status), "cameras": cams, "alerts": alerts, "tvs": tvs,
            "page": "dashboard", "now_ts": time.time()}


@router.get("/console/snapshot/{camera}.jpg")
async def camera_snapshot(request: Request, camera: str) -> Response:
    path = snapshot_path(services(request).settings.storage.camera_snapshots, camera)
    if path is None or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/console/live")
async def live(request: Request) -> Response:
    settings = services(request).settings
    cams = await run_in_threadpool(overview.cameras, settings.storage.root, settings.tv_api_snapshot_stale_seconds)
    return render(request, "live.html", cameras=cams, page="live", enlarged=None)


@router.get("/console/live/{camera}")
async def live_one(request: Request, camera: str) -> Response:
    settings = services(request).settings
    cams = [c for c in overview.cameras(settings.storage.root, settings.tv_api_snapshot_stale_seconds)
            if c.name == camera]
    if not cams:
        return render(request, "message.html", 404, title="No such camera", message="That camera is unknown.")
    return render(request, "live.html", cameras=cams, page="live", enlarged=camera)


@router.get("/console/fragments/cameras")
async def camera_times(request: Request) -> Response:
    settings = services(request).settings
    cams = await run_in_threadpool(overview.cameras, settings.storage.root, settings.tv_api_snapshot_stale_seconds)
    return render(request, "camera_times.html", cameras=cams)


@router.get("/console/review")
async def review(request: Request, camera: str = FilterArgs["camera"], label: str = FilterArgs["label"],
                 person: str = FilterArgs["person"], status: str = FilterArgs["status"],
                 since: str = FilterArgs["since"], until: str = FilterArgs["until"],
                 before: float | None = Query(None, ge=0)) -> Response:
    state = console_state(request)
    filters = _filters(request, camera, label, person, status, since, until)
    await run_in_threadpool(state.index.refresh)
    events = await run_in_threadpool(state.index.review, filters, PAGE_SIZE, before)
    choices = await run_in_threadpool(state.index.choices)
    return render(request, "review.html", page="review", events=events, choices=choices, statuses=STATUSES,
                  form={"camera": camera, "label": label, "person": person, "status": status, "since": since,
                        "until": until}, next_before=events[-1]["when_ts"] if len(events) == PAGE_SIZE else None,
                  request_query=urlencode({"camera": camera, "label": label, "person": person, "status": status,
                                           "since": since, "until": until}))


@router.get("/console/search")
async def search(request: Request, q: str = Query("", max_length=200), mode: str = Query("text", max_length=10),
                 camera: str = FilterArgs["camera"], label: str = FilterArgs["label"],
                 person: str = FilterArgs["person"], status: str = FilterArgs["status"],
                 since: str = FilterArgs["since"], until: str = FilterArgs["until"]) -> Response:
    state = console_state(request)
    filters = _filters(request, camera, label, person, status, since, until)
    started = time.perf_counter()
    await run_in_threadpool(state.index.refresh)
    embedder = await run_in_threadpool(state.embedder) if mode == "semantic" else None
    degraded = mode == "semantic" and embedder is None
    if not q.strip():
        results = []
    elif embedder is not None:
        await run_in_threadpool(state.index.embed_pending, 64)
        results = await run_in_threadpool(state.index.search_semantic, q, filters, embedder)
    else:
        results = await run_in_threadpool(state.index.search_text, q, filters)
    return render(request, "search.html", page="search", q=q, mode="semantic" if mode == "semantic" else "text",
                  results=results, degraded=degraded, degraded_reason=state.embedder.reason,
                  elapsed_ms=(time.perf_counter() - started) * 1000, statuses=STATUSES,
                  choices=await run_in_threadpool(state.index.choices),
                  form={"camera": camera, "label": label, "person": person, "status": status, "since": since,
                        "until": until})


@router.get("/console/frame/{logline_id}/{number}.jpg")
async def frame(request: Request, logline_id: str, number: int) -> Response:
    """Snapshot ``number`` of an event: the frame at its analytic's first detection of a label."""
    state = console_state(request)
    event = await run_in_threadpool(state.index.get, logline_id)
    if event is None:
        return Response(status_code=404)
    try:
        path = await run_in_threadpool(event_frame, services(request).settings.storage, event, number)
    except FrameError:
        return Response(status_code=404)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/console/audit/{logline_id}")
async def audit_page(request: Request, logline_id: str) -> Response:
    state, settings = console_state(request), services(request).settings
    event = await run_in_threadpool(state.index.get, logline_id)
    neighbours: dict[int, list[str]] = {}
    if event is not None and event["seq"] is not None:
        for seq in (event["seq"] - 1, event["seq"] + 1):
            neighbours[seq] = [row["file"] for row in await run_in_threadpool(state.index.by_seq, seq)]
    try:
        key_store = load_key_store(settings.key_store_path)
    except VVError as exc:
        return render(request, "message.html", 500, title="Key store unavailable", message=str(exc))
    result = await run_in_threadpool(audit_logline, settings.storage.loglines, logline_id, key_store, neighbours)
    if not result.found:
        return render(request, "message.html", 404, title="No such LogLine", message="That LogLine is not on disk.")
    return render(request, "audit.html", page="review", result=result, event=event)


ARTIFACT_DIRS = ("summaries", "analytic")


@router.get("/console/artifact/{top}/{name}")
async def artifact(request: Request, top: str, name: str) -> Response:
    """A LogLine's source document (summary or analytic JSON), pretty-printed."""
    path = services(request).settings.storage.root / top / name
    if top not in ARTIFACT_DIRS or "/" in name or name.startswith(".") or not name.endswith(".json"):
        return Response(status_code=404)
    try:
        document = json.loads(await run_in_threadpool(path.read_bytes))
    except (OSError, ValueError):
        return render(request, "message.html", 404, title="Not found", message="That file is missing or unreadable.")
    return render(request, "artifact.html", page="review", name=f"{top}/{name}",
                  text=json.dumps(document, indent=2, ensure_ascii=False))


@router.get("/console/quarantine")
async def quarantine_page(request: Request) -> Response:
    files = await run_in_threadpool(quarantine.list_quarantined, services(request).settings.storage.root)
    return render(request, "quarantine.html", page="quarantine", files=files)


@router.get("/console/faces")
async def faces_page(request: Request, event: str = Query("", max_length=200), n: int = Query(0, ge=0, le=9)
                     ) -> Response:
    state = console_state(request)
    source = await run_in_threadpool(state.index.get, event) if event else None
    return render(request, "faces.html", page="faces", people=await run_in_threadpool(state.faces.list),
                  source=source, source_n=n)


@router.get("/console/faces/{person_id}/{file_name}")
async def face_picture(request: Request, person_id: str, file_name: str) -> Response:
    try:
        path = console_state(request).faces.picture_path(person_id, file_name)
    except FaceStoreError:
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/console/tvs")
async def tvs_page(request: Request) -> Response:
    svc = services(request)
    tvs = await run_in_threadpool(overview.playlists, svc.settings.storage.playlists)
    devices = [d for d in svc.tokens.registry.devices() if d.get("role") == "display"]
    return render(request, "tvs.html", page="tvs", tvs=tvs, devices=devices, issued=None)


STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}


@router.get("/console/static/{name}")
async def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={**HEADERS, "Cache-Control": "no-cache"})
