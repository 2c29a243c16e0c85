"""A populated storage root, config dir and key store, plus a real restic repository per test.

The repository is initialised once per session (restic init derives its key with scrypt: ~2 s)
and copied for each test, so every test has its own real repository in a few milliseconds.
"""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from logline_generator.logline_generator import generate_logline
from tests.helpers import repo_env
from tests.logline_fixtures import summary_doc, write_summary
from vv_cli.settings import Settings
from vv_core.keystore import create_key_store

PASSWORD = "correct horse battery staple for tests"


@pytest.fixture(scope="session")
def restic_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import subprocess

    base = tmp_path_factory.mktemp("restic-template")
    password_file = base / "restic-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    repository = base / "repo"
    env = repo_env(RESTIC_REPOSITORY=str(repository), RESTIC_PASSWORD_FILE=str(password_file),
                   RESTIC_CACHE_DIR=str(base / "cache"))
    subprocess.run(["restic", "init", "--quiet"], env=env, check=True, capture_output=True)
    return repository, password_file


@pytest.fixture
def restic_repo(restic_template, tmp_path, monkeypatch) -> Path:
    repository = tmp_path / "restic-repo"
    shutil.copytree(restic_template[0], repository)
    monkeypatch.setenv("RESTIC_CACHE_DIR", str(tmp_path / "restic-cache"))
    return repository


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def make_state_db(path: Path, rows: int = 50) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS videos (id INTEGER PRIMARY KEY, sha256 TEXT, state TEXT)")
    connection.executemany("INSERT INTO videos (sha256, state) VALUES (?, ?)",
                           [(f"{i:064x}", "done") for i in range(rows)])
    connection.commit()
    connection.close()


@pytest.fixture
def box(tmp_path, monkeypatch, restic_repo, restic_template) -> Settings:
    """A box with data in every backed-up place; settings point at the test repository."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "storage"
    config_root = tmp_path / "app"
    models = tmp_path / "models"     # MODELS_DIR's default, relative to the working dir
    overrides = {"models_dir": models} if "models_dir" in Settings.model_fields else {}
    settings = Settings(
        video_storage_root=root,
        key_store_path=tmp_path / "secrets" / "logline_keys.json",
        restic_repository=str(restic_repo),
        restic_password_file=restic_template[1],
        backup_config_root=config_root,
        **overrides,
    )
    settings.storage.ensure()
    settings.key_store_path.parent.mkdir(mode=0o700)
    create_key_store(settings.key_store_path, "k-test")
    for n in range(3):   # a real, signed LogLine chain written by the real generator
        vid = f"cam1_20261121T10{n:02d}00Z"
        write_json(root / "analytic" / f"{vid}.analytic.json", {"video": vid, "objects": [n]})
        summary = write_summary(root, summary_doc(vid, recorded_at=f"2026-11-21T10:{n:02d}:00Z"))
        generate_logline(summary, settings=settings)
    write_json(root / "playlists" / "tv1.json", {"tv": "tv1", "items": []})
    (root / "logs" / "app.log").write_text('{"level": "INFO", "message": "hello"}\n')
    make_state_db(root / "state" / "orchestrator.sqlite3")
    write_json(root / "state" / "pipeline_status.json", {"queue_length": 0})
    (root / "state" / "snapshots").mkdir()
    (root / "state" / "snapshots" / "cam1.jpg").write_bytes(b"\xff\xd8 not backed up")
    (root / "analytic" / "half-written.json.part").write_text("{")
    (root / "processed" / "cam1").mkdir()
    (root / "processed" / "cam1" / "20261121T100000Z.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" * 1000)
    (root / "tv_curado" / "promo.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" * 500)
    (config_root / "tv_scheduler").mkdir(parents=True)
    (config_root / "tv_scheduler" / "config.yaml").write_text("tvs:\n  tv1: {cameras: [cam1]}\n")
    (config_root / ".env").write_text(f"VIDEO_STORAGE_ROOT={root}\n")
    (config_root / ".env").chmod(0o600)
    models.mkdir(parents=True)
    write_json(models / "model_manifest.json", {"schema_version": "1.0", "models": []})
    return settings


def tree_digest(*roots: Path) -> dict[str, bytes]:
    """Every regular file under the roots → its bytes (for byte-identical comparisons)."""
    found = {}
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            found[str(path)] = path.read_bytes()
    return found


class WebhookReceiver:
    """A real HTTP server on loopback that records the JSON alerts POSTed to it."""

    def __init__(self) -> None:
        import http.server
        import threading

        received: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.received = received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alert"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
