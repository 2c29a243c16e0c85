"""A thin, typed wrapper around the restic CLI (Debian package restic 0.14).

restic reads RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE from its environment; we pass both
explicitly from the settings (never a password on a command line, never RESTIC_PASSWORD from the
caller's environment) and turn every failure into a one-line :class:`ResticError` whose text has
any credentials in the repository URL redacted.
"""

import collections
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.settings import BackupSettings
from vv_core.errors import VVError
from vv_core.keystore import require_private_file

# restic 0.14 has no distinct exit code for "no repository here"; this is its stable wording.
_NO_REPOSITORY = "Is there a repository at the following location?"
_CREDENTIALS_IN_URL = re.compile(r"(//)[^/@\s]+@")
EXIT_INCOMPLETE_SNAPSHOT = 3   # restic backup: snapshot written, but some files could not be read
PROGRESS_FPS = "2"             # restic's status lines per second while it backs up (RESTIC_PROGRESS_FPS)


class ResticError(VVError):
    """A restic command failed; the message is one line, without secrets."""


def redact(text: str) -> str:
    """Hide ``user:password@`` in repository URLs (rest:https://u:p@host/…, sftp://u@host/…)."""
    return _CREDENTIALS_IN_URL.sub(r"\1***@", text)


def check_password_file(path: Path) -> None:
    """The repository password must exist and not be readable by other users."""
    if not path.is_file():
        raise ResticError(f"restic password file not found: {path} (set RESTIC_PASSWORD_FILE)")
    require_private_file(path, "restic password file", ResticError)


@dataclass(frozen=True)
class ResticRepo:
    repository: str
    password_file: Path
    binary: str = "restic"

    @classmethod
    def from_settings(cls, settings: BackupSettings) -> "ResticRepo":
        if not settings.restic_repository:
            raise ResticError("no backup repository configured: set RESTIC_REPOSITORY")
        if settings.restic_password_file is None:
            raise ResticError("no restic password configured: set RESTIC_PASSWORD_FILE")
        check_password_file(settings.restic_password_file)
        return cls(settings.restic_repository, settings.restic_password_file.absolute())

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("RESTIC_PASSWORD", "RESTIC_PASSWORD_COMMAND")}
        env["RESTIC_REPOSITORY"] = self.repository
        env["RESTIC_PASSWORD_FILE"] = str(self.password_file)
        return env

    def run(self, *args: str, cwd: Path | None = None, ok_codes: tuple[int, ...] = (0,),
            timeout_s: float | None = None) -> subprocess.CompletedProcess[str]:
        command = [self.binary, *args]
        try:
            result = subprocess.run(command, cwd=cwd, env=self.environment(), capture_output=True,
                                    text=True, timeout=timeout_s, check=False)
        except FileNotFoundError:
            raise ResticError(f"{self.binary} not found: install it (apt-get install restic)") from None
        except subprocess.TimeoutExpired:
            raise ResticError(f"restic {args[0]} timed out after {timeout_s:.0f} s") from None
        if result.returncode not in ok_codes:
            raise ResticError(
                f"restic {args[0]} failed (exit {result.returncode}): {last_line(result.stderr)}")
        return result

    # --- repository ---------------------------------------------------------------------------
    def exists(self) -> bool:
        """True if the repository is there and the password opens it (wrong password raises)."""
        result = self.run("cat", "config", "--no-lock", ok_codes=(0, 1))
        if result.returncode == 0:
            return True
        if _NO_REPOSITORY in result.stderr:
            return False
        raise ResticError(f"restic cannot open {redact(self.repository)}: {last_line(result.stderr)}")

    def init(self) -> bool:
        """Create the repository if missing; False if it was already there (idempotent)."""
        if self.exists():
            return False
        self.run("init")
        return True

    def unlock(self) -> bool:
        """Remove stale locks left by a killed restic (live locks are kept by restic itself).

        Doubles as the existence probe before a backup (every restic call pays for the key
        derivation): False if there is no repository, an error for anything else.
        """
        result = self.run("unlock", ok_codes=(0, 1))
        if result.returncode == 0:
            return True
        if _NO_REPOSITORY in result.stderr:
            return False
        raise ResticError(f"restic cannot open {redact(self.repository)}: {last_line(result.stderr)}")

    # --- snapshots ----------------------------------------------------------------------------
    def backup(self, source_dir: Path, tags: list[str], excludes: list[str],
               on_status: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Back up ``source_dir`` as ``.`` (so the snapshot tree starts at its contents); restic's
        status messages (bytes_done, total_bytes, …) go to ``on_status`` while it runs."""
        args = ["backup", "--json", "--ignore-ctime", "--exclude-caches"]
        for tag in tags:
            args += ["--tag", tag]
        for pattern in excludes:
            args += ["--exclude", pattern]
        returncode, summary, stderr = self._stream_backup([*args, "."], source_dir, on_status)
        if returncode not in (0, EXIT_INCOMPLETE_SNAPSHOT):
            raise ResticError(f"restic backup failed (exit {returncode}): {last_line(stderr)}")
        if summary is None:
            raise ResticError("restic backup printed no summary")
        if returncode == EXIT_INCOMPLETE_SNAPSHOT:
            raise ResticError(f"restic backup could not read some files (snapshot "
                              f"{summary.get('snapshot_id')} is incomplete): {last_line(stderr)}")
        return summary

    def _stream_backup(self, args: list[str], cwd: Path, on_status: Callable[[dict[str, Any]], None] | None
                       ) -> tuple[int, dict[str, Any] | None, str]:
        """Run `restic backup --json`, reading its messages as they come; (exit code, summary, stderr)."""
        env = {**self.environment(), "RESTIC_PROGRESS_FPS": PROGRESS_FPS}
        try:
            process = subprocess.Popen([self.binary, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise ResticError(f"{self.binary} not found: install it (apt-get install restic)") from None
        errors: collections.deque[str] = collections.deque(maxlen=50)
        reader = threading.Thread(target=lambda: errors.extend(process.stderr or ()), daemon=True)
        reader.start()
        summary = None
        for message in json_lines_of(process.stdout or ()):
            if message.get("message_type") == "summary":
                summary = message
            elif message.get("message_type") == "status" and on_status is not None:
                on_status(message)
        returncode = process.wait()
        reader.join(timeout=5)
        return returncode, summary, "".join(errors)

    def snapshots(self, tags: list[str] | None = None) -> list[dict[str, Any]]:
        """Snapshots, oldest first (restic's order)."""
        args = ["snapshots", "--json"]
        if tags:
            args += ["--tag", ",".join(tags)]
        return json.loads(self.run(*args).stdout or "[]")

    def latest_snapshot(self, tags: list[str]) -> dict[str, Any]:
        found = self.snapshots(tags)
        if not found:
            raise ResticError(f"no snapshot tagged {','.join(tags)} in {redact(self.repository)}")
        return found[-1]

    def forget(self, tags: list[str], keep_daily: int, keep_weekly: int, keep_monthly: int) -> list[str]:
        """Apply GFS retention to the snapshots with ``tags`` and prune; return removed ids."""
        result = self.run(
            "forget", "--json", "--prune", "--tag", ",".join(tags), "--group-by", "host,tags",
            "--keep-daily", str(keep_daily), "--keep-weekly", str(keep_weekly),
            "--keep-monthly", str(keep_monthly),
        )
        removed: list[str] = []
        for group in first_json_value(result.stdout) or []:
            removed += [snap["id"] for snap in group.get("remove") or []]
        return removed

    def restore(self, snapshot_id: str, target: Path) -> None:
        self.run("restore", snapshot_id, "--target", str(target))

    def check(self, read_data_subset: str | None = None) -> str:
        args = ["check"] + ([f"--read-data-subset={read_data_subset}"] if read_data_subset else [])
        return self.run(*args).stdout


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return redact(lines[-1]) if lines else "no output"


def json_lines(text: str) -> list[dict[str, Any]]:
    return list(json_lines_of(text.splitlines()))


def json_lines_of(lines: Any) -> Any:
    """The JSON objects among ``lines`` (an iterable of str, e.g. a pipe), as they come."""
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def first_json_value(text: str) -> Any:
    """restic forget --json prints one JSON array (possibly after status lines)."""
    for line in text.splitlines():
        if line.strip().startswith(("[", "{")):
            return json.loads(line)
    return None
