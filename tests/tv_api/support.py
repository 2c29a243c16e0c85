"""Helpers for the tv_api tests: fixture playlists (per schemas/playlist.schema.json), media made
with ffmpeg, and a real tv_api process on loopback."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import repo_env
from vv_core.atomic import atomic_write_json
from vv_core.schema import validate_schema

ADMIN_USER, ADMIN_PASSWORD = "admin", "correct horse battery"
DISPLAY_USER, DISPLAY_PASSWORD = "lobby", "display password 1"


def make_clip(path: Path, source: str, seconds: float, size: str = "320x180") -> Path:
    """A small H.264 clip (yuv420p, faststart) from an ffmpeg lavfi source."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
         "-i", f"{source}=size={size}:rate=25", "-t", str(seconds), "-c:v", "libx264", "-preset",
         "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-y", str(path)],
        check=True, timeout=60,
    )
    return path


def make_png(path: Path, color: str = "0x335577", size: str = "320x180") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
                    f"color=c={color}:size={size}", "-frames:v", "1", "-y", str(path)], check=True, timeout=60)
    return path


def item(logline_id: str, media_url: str, *, seq: int = 1, status: str = "confirmado",
         title: str = "Person at the gate", summary: str = "A person walks past the gate.",
         when: str = "2026-11-21T10:15:00Z", who: str = "cam1") -> dict:
    return {"logline_id": logline_id, "seq": seq, "media_url": media_url, "thumbnail_url": None,
            "title": title, "summary": summary, "duration_s": 2.0, "status": status,
            "when": when, "who": who}


def write_playlist(storage_root: Path, tv: str, items: list[dict], *, fallback: dict | None = None,
                   display: dict | None = None) -> Path:
    document = {
        "schema_version": "1.0", "tv": tv, "generated_at": "2026-11-21T10:17:00.004Z",
        "rules": {"statuses": ["alerta", "confirmado"]},
        "fallback": {"media_url": "/media/fallback/loop_silencioso.mp4",
                     "image_url": "/media/fallback/placeholder.png", **(fallback or {})},
        "items": items,
    }
    if display is not None:
        document["display"] = display
    validate_schema(document, "playlist")
    return atomic_write_json(storage_root / "playlists" / f"{tv}.json", document)


def install_media(storage_root: Path, clips: dict[str, Path]) -> None:
    """Copy the session's clips into the storage tree where playlists point."""
    targets = {
        "clip_a": "processed/cam1/20261121T101500Z.mp4",
        "clip_b": "processed/cam1/20261121T102000Z.mp4",
        "clip_c": "tv_curado/intro.mp4",
        "loop": "fallback/loop_silencioso.mp4",
        "placeholder": "fallback/placeholder.png",
    }
    for name, relative in targets.items():
        target = storage_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clips[name], target)


MEDIA_URLS = {
    "clip_a": "/media/processed/cam1/20261121T101500Z.mp4",
    "clip_b": "/media/processed/cam1/20261121T102000Z.mp4",
    "clip_c": "/media/tv_curado/intro.mp4",
}


class ApiProcess:
    """`python -m tv_api` on 127.0.0.1; port 0 on first start, the same port on a restart."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "ApiProcess":
        env = repo_env(**self.env, TV_API_HOST="127.0.0.1", TV_API_PORT=str(self.port))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "tv_api"], env=env, stdout=subprocess.PIPE,
                                        stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"tv_api exited early; see {self.log_path}")
            entry = json.loads(line)
            if entry.get("message") == "listening":
                self.port = entry["port"]
                break
        else:  # pragma: no cover - only on a broken environment
            raise RuntimeError("tv_api did not start")
        # Drain stdout in the background so the server never blocks on a full pipe.
        self._drain = subprocess.Popen(["cat"], stdin=self.process.stdout, stdout=log)
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("tv_api did not answer /healthz")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._drain.wait(timeout=10)
        self.process = None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=60)
    return cert, key


class NginxHarness:
    """An nginx config of ours run in the foreground on loopback under a temp prefix (its error log
    at ``<prefix>/error.log``). Subclasses give the command, a readiness probe and new ports."""

    prefix: Path
    process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError

    def take_new_ports(self) -> None:
        raise NotImplementedError

    def start(self):
        # free_port() only finds a port that was free a moment ago: another process on a busy box can
        # take it before nginx binds. Then nginx exits at once; take new ports and try again.
        errors = ""
        for _attempt in range(3):
            command = self.command()
            command[-1] += " daemon off;"
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.process.poll() is None:
                if self.answers():
                    return self
                time.sleep(0.1)
            log = self.prefix / "error.log"
            errors = log.read_text(errors="replace") if log.exists() else ""
            if self.process.poll() is None or "Address already in use" not in errors:
                break
            self.take_new_ports()
        self.stop()
        raise RuntimeError(f"nginx did not start; {self.prefix}/error.log: {errors[-1500:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)  # graceful: master and workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


class NginxProcess(NginxHarness):
    """The production nginx config rendered into a temp prefix, run in the foreground on loopback."""

    def __init__(self, prefix: Path, storage_root: Path, upstream: str, extra_conf: str = "") -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "nginx"))
        from render_config import render_site

        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        cert, key = self_signed_cert(prefix)
        self._render = lambda: render_site(prefix / "conf", {
            "VV_STORAGE_ROOT": str(storage_root), "VV_TV_API_UPSTREAM": upstream, "VV_TLS_CERT": str(cert),
            "VV_TLS_KEY": str(key), "VV_NGINX_CACHE_DIR": str(prefix / "cache"),
            "VV_HTTPS_PORT": str(self.https_port), "VV_HTTP_PORT": str(self.http_port),
            "VV_SERVER_NAME": "localhost",
        })
        self.https_port, self.http_port = free_port(), free_port()
        self._render()
        if extra_conf:
            (prefix / "conf" / "conf.d" / "zz_extra.conf").write_text(extra_conf)
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        # user root: the test storage lives in pytest's 0700 temp dirs (production uses the image's user).
        globals_ = f"user root; pid {self.prefix}/nginx.pid; error_log {self.prefix}/error.log warn;"
        return ["nginx", "-p", f"{self.prefix}/", "-c", f"{self.prefix}/conf/nginx.conf", "-g", globals_, *extra]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def answers(self) -> bool:
        try:
            httpx.get(self.base_url + "/healthz", verify=False, timeout=1)  # noqa: S501 - self-signed test cert
        except httpx.HTTPError:
            return False
        return True

    def take_new_ports(self) -> None:
        self.https_port, self.http_port = free_port(), free_port()
        self._render()
