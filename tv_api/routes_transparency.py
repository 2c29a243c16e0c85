"""Read-only transparency endpoints for auditors: the signed checkpoint and Merkle proofs.

Public (policy.py): they reveal hashes and the box's signed tree heads, nothing of the LogLines'
content, and an auditor outside the box has no account. Proofs stop at the latest checkpoint.
"""

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from tv_api.services import services
from vv_core.errors import VVError
from vv_core.tlog import WITNESSED_FILE, read_checkpoint
from vv_core.tlog_proofs import ProofRequestError, consistency, inclusion, inclusion_by_index

router = APIRouter(prefix="/transparency", tags=["transparency"])
NO_STORE = {"Cache-Control": "no-store"}
MAX_SIZE = 2**63 - 1
# The files no longer match the tree/checkpoint: say so without details (the operator's `vv verify` has them).
INCONSISTENT = JSONResponse({"detail": "the transparency log does not match its checkpoint"}, status_code=500)


def _loglines(request: Request):
    return services(request).settings.storage.loglines


def _latest_with_cosignatures(directory) -> str | None:
    """The latest checkpoint, with the witness cosignatures collected for it when there are any."""
    note = read_checkpoint(directory)
    witnessed = read_checkpoint(directory, WITNESSED_FILE)
    if note is not None and witnessed is not None and witnessed.startswith(note.split("\n\n")[0] + "\n\n"):
        return witnessed
    return note


@router.get("/checkpoint", response_class=PlainTextResponse)
async def checkpoint(request: Request) -> PlainTextResponse:
    note = await run_in_threadpool(_latest_with_cosignatures, _loglines(request))
    if note is None:
        return PlainTextResponse("no checkpoint yet\n", status_code=404, headers=NO_STORE)
    return PlainTextResponse(note, headers=NO_STORE)


@router.get("/checkpoint/witnessed", response_class=PlainTextResponse)
async def witnessed_checkpoint(request: Request) -> PlainTextResponse:
    note = await run_in_threadpool(read_checkpoint, _loglines(request), WITNESSED_FILE)
    if note is None:
        return PlainTextResponse("no witnessed checkpoint yet\n", status_code=404, headers=NO_STORE)
    return PlainTextResponse(note, headers=NO_STORE)


@router.get("/proof/inclusion")
async def inclusion_proof(request: Request, id: str | None = Query(None, max_length=128),
                          index: int | None = Query(None, ge=0, le=MAX_SIZE),
                          size: int | None = Query(None, ge=0, le=MAX_SIZE)) -> JSONResponse:
    """By LogLine ``id`` (against the latest checkpoint) or by leaf ``index`` (and tree ``size``)."""
    directory = _loglines(request)
    if (id is None) == (index is None):
        return JSONResponse({"detail": "give either id or index"}, status_code=400)
    try:
        if id is not None:
            body = await run_in_threadpool(inclusion, directory, id)
        else:
            body = await run_in_threadpool(inclusion_by_index, directory, index, size)
    except ProofRequestError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except VVError:
        return INCONSISTENT
    return JSONResponse(body, headers=NO_STORE)


@router.get("/proof/consistency")
async def consistency_proof(request: Request, old: int = Query(..., ge=0, le=MAX_SIZE),
                            new: int | None = Query(None, ge=0, le=MAX_SIZE)) -> JSONResponse:
    try:
        body = await run_in_threadpool(consistency, _loglines(request), old, new)
    except ProofRequestError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except VVError:
        return INCONSISTENT
    return JSONResponse(body, headers=NO_STORE)
