"""The console's admin actions (POST, CSRF-checked, each logged with the user who did it)."""

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from tv_api.auth.store import AuthStoreError
from tv_api.console import overview, quarantine
from tv_api.console.audit import verify_whole_chain
from tv_api.console.faces import MAX_PICTURE_BYTES, FaceStoreError
from tv_api.console.frames import FrameError, event_crop, event_frame
from tv_api.console.state import console_state
from tv_api.console.web import audit, check_csrf, refused, render
from tv_api.playlists import TV_NAME
from tv_api.services import services
from vv_core.errors import VVError
from vv_core.keystore import load_key_store

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.post("/console/audit/verify-chain")
async def verify_chain(request: Request) -> Response:
    if not await check_csrf(request):
        return refused(request)
    settings = services(request).settings
    try:
        key_store = load_key_store(settings.key_store_path)
        report = await run_in_threadpool(verify_whole_chain, settings.storage.loglines, key_store)
    except VVError as exc:
        return render(request, "message.html", 500, title="Verifier failed", message=str(exc))
    audit(request, "verify_chain", ok=report["ok"], checked=report["checked"], problems=report["problem_count"])
    template = "chain_report.html" if request.headers.get("hx-request") else "chain_page.html"
    return render(request, template, page="review", report=report)


@router.post("/console/quarantine/{action}")
async def quarantine_action(request: Request, action: str) -> Response:
    if action not in ("retry", "delete") or not await check_csrf(request):
        return refused(request)
    relative = (await _form(request)).get("file", "")
    root = services(request).settings.storage.root
    try:
        done = await run_in_threadpool(quarantine.retry if action == "retry" else quarantine.delete, root, relative)
    except (quarantine.QuarantineError, OSError) as exc:
        return render(request, "message.html", 400, title="Not done", message=str(exc))
    audit(request, f"quarantine_{action}", file=relative, moved_to=done.get("moved_to"),
          orchestrator_reset=done.get("orchestrator_reset"), error_record=done["error_record"])
    return _back("/console/quarantine")


@router.post("/console/faces/add")
async def add_face(request: Request) -> Response:
    if not await check_csrf(request):
        return refused(request)
    form = await request.form()
    name = str(form.get("name", ""))
    state = console_state(request)
    event_id = str(form.get("event", ""))
    try:
        if event_id:
            event = await run_in_threadpool(state.index.get, event_id)
            if event is None:
                raise FaceStoreError("no such event")
            number = int(str(form.get("n", "0")) or 0)
            storage = services(request).settings.storage
            crop = await run_in_threadpool(event_crop, storage, event, number)
            path = crop or await run_in_threadpool(event_frame, storage, event, number)
            data = path.read_bytes()
            source = f"event {event_id} " + (f"crop {path.parent.name}/{path.name}" if crop else f"snapshot {number}")
        else:
            upload = form.get("picture")
            if upload is None or isinstance(upload, str):
                raise FaceStoreError("choose a picture to upload, or add from an event's snapshot")
            data = await upload.read(MAX_PICTURE_BYTES + 1)
            source = f"upload {upload.filename or ''}".strip()
        person = await run_in_threadpool(state.faces.add_picture, name, data, source)
        if event_id:
            await run_in_threadpool(state.index.add_person, event_id, person.name)
    except (FaceStoreError, FrameError, ValueError) as exc:
        return render(request, "message.html", 400, title="Not added", message=str(exc))
    audit(request, "face_add", person=person.id, source=source)
    return _back("/console/faces")


@router.post("/console/faces/{person_id}/{action}")
async def change_face(request: Request, person_id: str, action: str) -> Response:
    if action not in ("rename", "delete") or not await check_csrf(request):
        return refused(request)
    faces = console_state(request).faces
    try:
        if action == "rename":
            person = faces.rename(person_id, (await _form(request)).get("name", ""))
        else:
            person = faces.delete(person_id)
    except FaceStoreError as exc:
        return render(request, "message.html", 400, title="Not done", message=str(exc))
    audit(request, f"face_{action}", person=person_id, name=person.name)
    return _back("/console/faces")


@router.post("/console/tvs/pair")
async def pair_tv(request: Request) -> Response:
    if not await check_csrf(request):
        return refused(request)
    svc = services(request)
    tv = (await _form(request)).get("tv", "").strip()
    if not TV_NAME.match(tv):
        return render(request, "message.html", 400, title="Not paired",
                      message="A TV name has 1 to 32 letters, digits, - or _.")
    days = svc.settings.tv_api_display_token_days
    token, device = await run_in_threadpool(svc.tokens.issue_device_token, tv, days * 86400)
    audit(request, "tv_pair", tv=tv, jti=device.jti)
    tvs = await run_in_threadpool(overview.playlists, svc.settings.storage.playlists)
    devices = [d for d in svc.tokens.registry.devices() if d.get("role") == "display"]
    # The token is shown once, in this response only (no-store), as the TV's pairing link.
    return render(request, "tvs.html", page="tvs", tvs=tvs, devices=devices,
                  issued={"tv": tv, "jti": device.jti, "url": f"/tv.html?tv={tv}#token={token}"})


@router.post("/console/tvs/revoke")
async def revoke_tv(request: Request) -> Response:
    if not await check_csrf(request):
        return refused(request)
    jti = (await _form(request)).get("jti", "")
    registry = services(request).tokens.registry
    if jti not in {d["jti"] for d in registry.devices() if d.get("role") == "display"}:
        return render(request, "message.html", 404, title="Not revoked", message="No such TV token.")
    try:
        await run_in_threadpool(registry.revoke_device, jti)
    except AuthStoreError as exc:
        return render(request, "message.html", 400, title="Not revoked", message=str(exc))
    audit(request, "tv_revoke", jti=jti)
    return _back("/console/tvs")
