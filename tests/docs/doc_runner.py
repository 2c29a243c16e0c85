"""Extract the shell blocks of the docs and run them for real in a sandboxed copy of the repo.

Rules for doc authors (docs/README of the runner, enforced by tests/docs):
* Every shell command goes in a ```bash block (```sh / ```shell / ```console are refused, so no
  command escapes the runner).
* A ```bash block runs as written, in order with the other blocks of the same document, with
  ``bash -euo pipefail`` in a sandbox: a copy of this checkout as the working directory, its own
  storage root, restic repository, HOME and ``vv`` on PATH (this checkout's code).
* A first line ``# doc-test: exit=N`` expects exit status N (a command shown failing on purpose).
* A first line ``# doc-test: stack`` needs the running API: the runner starts the real tv_api
  (`vv serve`) on a free loopback port of the sandbox and exports ``VV_API`` (its base URL), so
  the docs write ``"${VV_API:-http://127.0.0.1:8000}"``.
* A first line ``# doc-test: skip — <why>`` marks a block that cannot run here (Docker, systemd,
  apt, real hardware); the reason is mandatory and shown in the test report.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO_ROOT

SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}
_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SKIP = re.compile(r"^#\s*doc-test:\s*skip\s*[—–:-]+\s*(\S.*)$")
_EXIT = re.compile(r"^#\s*doc-test:\s*exit=(\d+)\s*$")
_STACK = re.compile(r"^#\s*doc-test:\s*stack\b")
BLOCK_TIMEOUT_S = 180


@dataclass(frozen=True)
class ShellBlock:
    document: Path
    line: int
    language: str
    code: str

    @property
    def first_line(self) -> str:
        return self.code.strip().splitlines()[0] if self.code.strip() else ""

    @property
    def skip_reason(self) -> str | None:
        match = _SKIP.match(self.first_line)
        return match.group(1).strip() if match else None

    @property
    def is_marked_skip(self) -> bool:
        return bool(re.match(r"^#\s*doc-test:\s*skip", self.first_line))

    @property
    def expected_exit(self) -> int:
        match = _EXIT.match(self.first_line)
        return int(match.group(1)) if match else 0

    @property
    def needs_stack(self) -> bool:
        return bool(_STACK.match(self.first_line))

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(REPO_ROOT)}:{self.line}"


def documents() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def shell_blocks(document: Path) -> list[ShellBlock]:
    text = document.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        language = match.group(1).lower()
        if language in SHELL_LANGUAGES:
            line = text.count("\n", 0, match.start()) + 1
            blocks.append(ShellBlock(document, line, language, match.group(2)))
    return blocks


def copy_checkout(destination: Path) -> None:
    """The files git knows about (tracked and new, not ignored): no .venv, storage, secrets."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for relative in filter(None, listed):
        source = REPO_ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@dataclass
class Sandbox:
    root: Path

    @property
    def app(self) -> Path:
        return self.root / "app"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTIC_", "VV_", "TV_API_"))}
        for name in ("VIDEO_STORAGE_ROOT", "KEY_STORE_PATH", "ALERT_WEBHOOK_URL", "BACKUP_CONFIG_ROOT"):
            env.pop(name, None)
        env.update(
            HOME=str(self.root / "home"),
            PATH=os.pathsep.join([str(self.root / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")]),
            PYTHONPATH=f"{self.app}{os.pathsep}{self.app / 'vv-core'}",
            VIDEO_STORAGE_ROOT=str(self.app / "storage"),
            KEY_STORE_PATH=str(self.app / "secrets" / "logline_keys.json"),
            RESTIC_REPOSITORY=str(self.root / "backup-repo"),
            RESTIC_PASSWORD_FILE=str(self.app / "secrets" / "restic-password"),
            RESTIC_CACHE_DIR=str(self.root / "restic-cache"),
            VV_DOCTEST="1",
        )
        return env


def make_sandbox(root: Path) -> Sandbox:
    sandbox = Sandbox(root)
    copy_checkout(sandbox.app)
    (root / "home").mkdir()
    bin_dir = root / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "vv"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vv_cli.main "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return sandbox


def run_block(block: ShellBlock, sandbox: Sandbox, extra_env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    env = {**sandbox.env, **(extra_env or {})}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=sandbox.app, env=env,
                          capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S, check=False)


class ApiServer:
    """The real tv_api (`vv serve --port 0`) of the sandbox on loopback, for `stack` blocks; its
    JSON log line "listening" says which port it got."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.log_path = sandbox.root / "tv_api.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(["vv", "serve", "--host", "127.0.0.1", "--port", "0"],
                                        cwd=sandbox.app, env=sandbox.env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.wait_for_port()}"

    def wait_for_port(self, timeout_s: float = 60.0) -> int:
        import json
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.log_path.read_text().splitlines():
                if '"listening"' in line:
                    return int(json.loads(line)["port"])
            if self.process.poll() is not None:
                raise RuntimeError(f"vv serve exited with {self.process.returncode}: {self.log_path.read_text()}")
            time.sleep(0.2)
        raise RuntimeError("vv serve did not say where it listens")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.log.close()


SEED_SCRIPT = r"""
set -euo pipefail
vv bootstrap --env-file .env >/dev/null    # the .env `make demo` writes: the guides source it
root="$VIDEO_STORAGE_ROOT"
# a box that has been running: the orchestrator's real WAL state DB (its own schema) and some artifacts
python -c "import os, pathlib; from orchestrator.state import StateStore; \
StateStore(pathlib.Path(os.environ['VIDEO_STORAGE_ROOT']) / 'state' / 'orchestrator.sqlite3').close()"
echo '{"tv": "tv1", "items": []}' > "$root/playlists/tv1.json"
echo '{"level": "INFO", "message": "started"}' >> "$root/logs/app.log"
mkdir -p "$root/processed/cam1" "$root/tv_curado"
head -c 200000 /dev/urandom > "$root/processed/cam1/20261121T100000Z.mp4"
"""


def seed_box(sandbox: Sandbox) -> None:
    """What a running box has before an operator reaches for the docs."""
    subprocess.run(["bash", "-c", SEED_SCRIPT], cwd=sandbox.app, env=sandbox.env, check=True,
                   capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
