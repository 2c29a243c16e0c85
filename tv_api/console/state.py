"""The console's per-app state, built on first use from tv_api's Services (settings unpacked here)."""

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request

from tv_api.console.embedder import Embedder, EmbedderUnavailable, load_embedder
from tv_api.console.faces import FaceStore
from tv_api.console.index import EMBED_BATCH, SearchIndex
from tv_api.services import Services, services

log = logging.getLogger("tv_api.console")
REPO_MANIFEST = Path(__file__).resolve().parents[2] / "models" / "model_manifest.json"
BACKGROUND_INTERVAL_S = 1.0


def manifest_for(models_dir: Path) -> Path:
    local = models_dir / "model_manifest.json"
    return local if local.is_file() else REPO_MANIFEST


class EmbedderSlot:
    """Loads the embedding model once; remembers why it could not (the degraded-mode label)."""

    RETRY_S = 60.0

    def __init__(self, models_dir: Path, name: str) -> None:
        self.models_dir, self.name = models_dir, name
        self._embedder: Embedder | None = None
        self.reason = "semantic search is off (CONSOLE_EMBEDDER_MODEL is empty)" if not name else ""
        self._tried_at: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Embedder | None:
        import time

        if self._embedder is not None or not self.name:
            return self._embedder
        with self._lock:
            if self._embedder is None and (self._tried_at is None or time.monotonic() - self._tried_at > self.RETRY_S):
                self._tried_at = time.monotonic()
                try:
                    self._embedder = load_embedder(self.models_dir, manifest_for(self.models_dir), self.name)
                    self.reason = ""
                except EmbedderUnavailable as exc:
                    self.reason = str(exc)
                    log.warning("semantic search unavailable: full-text only", extra={"reason": str(exc)})
        return self._embedder


def build_index(storage_root: Path, state_dir: Path, loglines: Path, models_dir: Path,
                model_name: str) -> tuple[SearchIndex, EmbedderSlot]:
    slot = EmbedderSlot(models_dir, model_name)
    return SearchIndex(storage_root, state_dir, loglines, slot), slot


@dataclass
class ConsoleState:
    svc: Services
    index: SearchIndex
    embedder: EmbedderSlot
    faces: FaceStore
    zone: ZoneInfo | None
    csrf_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_services(cls, svc: Services) -> "ConsoleState":
        settings = svc.settings
        storage = settings.storage
        index, slot = build_index(storage.root, storage.state, storage.loglines, Path(settings.models_dir),
                                  settings.console_embedder_model)
        # One clock for the whole box: the console shows BOX_TIMEZONE unless told otherwise.
        zone_name = settings.console_timezone or settings.box_timezone
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            log.error("unknown CONSOLE_TIMEZONE; showing BOX_TIMEZONE", extra={"zone": zone_name})
            zone = ZoneInfo(settings.box_timezone)
        state = cls(svc, index, slot, FaceStore(storage.faces), zone)
        threading.Thread(target=state._keep_up, name="console-index", daemon=True).start()
        return state

    def _keep_up(self) -> None:
        """Index new LogLines and embed their texts in the background, so queries find them warm."""
        passes = 0
        while not self._stop.wait(BACKGROUND_INTERVAL_S):
            try:
                self.index.refresh(full=passes % 300 == 0)
                self.index.embed_pending(limit=EMBED_BATCH)
            except Exception:  # never let the helper thread die silently: log and keep going
                log.exception("console index refresh failed")
            passes += 1

    def stop(self) -> None:
        self._stop.set()

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self.csrf_key, session_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session_id), token or "")


_LOCK = threading.Lock()


def console_state(request: Request) -> ConsoleState:
    app_state = request.app.state
    state = getattr(app_state, "console", None)
    if state is None:
        with _LOCK:
            state = getattr(app_state, "console", None)
            if state is None:
                state = app_state.console = ConsoleState.from_services(services(request))
    return state
