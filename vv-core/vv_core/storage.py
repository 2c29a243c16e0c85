"""The storage tree under VIDEO_STORAGE_ROOT: the directories the dataflow moves through."""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vv_core.errors import VVError

# Order follows the dataflow (DESIGN.md): capture → pipeline artifacts → TV → quarantine/ops.
STORAGE_DIRS = (
    "input",       # new segments from agent_dvr (written as *.part, renamed when closed)
    "raw",         # optional untouched copies of camera segments
    "processed",   # videos whose pipeline finished
    "tv_curado",   # curated extra content (vv_ingest)
    "analytic",    # <id>.analytic.json (scan_video)
    "snapshots",   # <id>/<event>.jpg + <event>.crop.jpg: each event's best frame (scan_video)
    "summaries",   # <id>.summary.json (summarize_scene)
    "loglines",    # <id>.logline.json + <id>.md (logline_generator)
    "playlists",   # <tv>.json (tv_scheduler)
    "fallback",    # silent loop and placeholder image
    "corrupted",   # quarantined inputs with <name>.error.json
    "state",       # SQLite state, locks
    "logs",        # app.log and friends
)

# state/<this>: tv_scheduler's last successful build (written atomically after each one); tv_api
# reads it for /status and the playlist-freshness metric. Playlist files themselves change only
# when their content does, so their age says nothing about whether the scheduler is alive.
SCHEDULER_HEARTBEAT = "scheduler_heartbeat.json"
# The other shared files under state/ (StorageLayout's properties name their full paths).
ORCHESTRATOR_DB = "orchestrator.sqlite3"
PIPELINE_STATUS = "pipeline_status.json"
ALERTS_DEDUP = "alerts_dedup.json"
BACKUP_STATUS = "backup_status.json"
# Present while ingestion is paused (`vv diagnose --fix`): the orchestrator claims no new input/ file.
INGESTION_PAUSED = "ingestion_paused.json"


@dataclass(frozen=True)
class DiskSpace:
    """Size and free bytes of the filesystem holding a path (what `df` says for it)."""

    total: int
    free: int

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free / self.total if self.total else 100.0

    @property
    def used_percent(self) -> float:
        return 100.0 - self.free_percent


def disk_space(path: str | os.PathLike[str]) -> DiskSpace:
    """The filesystem's size and free bytes at ``path`` (OSError when it cannot be read)."""
    usage = shutil.disk_usage(path)
    return DiskSpace(usage.total, usage.free)


@dataclass(frozen=True)
class StorageLayout:
    """Every path of the storage tree, by name: the directories of the dataflow and the state files
    the processes share (their file names spelled here once)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().absolute())

    # --- the directories (STORAGE_DIRS) -----------------------------------------------------------
    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "processed"

    @property
    def tv_curado(self) -> Path:
        return self.root / "tv_curado"

    @property
    def analytic(self) -> Path:
        return self.root / "analytic"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def summaries(self) -> Path:
        return self.root / "summaries"

    @property
    def loglines(self) -> Path:
        return self.root / "loglines"

    @property
    def playlists(self) -> Path:
        return self.root / "playlists"

    @property
    def fallback(self) -> Path:
        return self.root / "fallback"

    @property
    def corrupted(self) -> Path:
        return self.root / "corrupted"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    # --- shared files under state/ and logs/ ----------------------------------------------------
    @property
    def app_log(self) -> Path:
        """The JSON log every process appends to."""
        return self.logs / "app.log"

    @property
    def orchestrator_db(self) -> Path:
        """The orchestrator's SQLite state (videos, attempts, placements)."""
        return self.state / ORCHESTRATOR_DB

    @property
    def pipeline_status(self) -> Path:
        """The orchestrator's last run, read by /status and the metrics."""
        return self.state / PIPELINE_STATUS

    @property
    def scheduler_heartbeat(self) -> Path:
        return self.state / SCHEDULER_HEARTBEAT

    @property
    def camera_snapshots(self) -> Path:
        """agent_dvr's latest JPEG per camera (<camera>.jpg), read by the mirror and /status."""
        return self.state / "snapshots"

    @property
    def ingestion_paused(self) -> Path:
        """Present while ingestion is paused: who paused it, when and why (JSON)."""
        return self.state / INGESTION_PAUSED

    @property
    def dvr_outages(self) -> Path:
        """agent_dvr's outage record (SQLite)."""
        return self.state / "agent_dvr.sqlite3"

    @property
    def faces(self) -> Path:
        """Known faces: library.json (the encodings) and their crops."""
        return self.state / "faces"

    @property
    def face_library(self) -> Path:
        return self.faces / "library.json"

    @property
    def thumbnails(self) -> Path:
        return self.state / "thumbnails"

    @property
    def console_frames(self) -> Path:
        return self.state / "console_frames"

    @property
    def backup_status(self) -> Path:
        """The last backup attempt and success (read by /status and the restore drill)."""
        return self.state / BACKUP_STATUS

    @property
    def alerts_dedup(self) -> Path:
        """When each alert was last sent (the de-duplication window, shared by every process)."""
        return self.state / ALERTS_DEDUP

    def directories(self) -> list[Path]:
        return [self.root / name for name in STORAGE_DIRS]

    def ensure(self) -> list[Path]:
        """Create every directory that is missing; return the ones created (idempotent)."""
        created = []
        for directory in self.directories():
            if not directory.is_dir():
                directory.mkdir(parents=True, exist_ok=True)
                created.append(directory)
        return created

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """True if ``path`` (symlinks resolved) lies inside the storage root."""
        return Path(path).resolve().is_relative_to(self.root.resolve())


# A storage tree has these (bootstrap creates every STORAGE_DIRS entry; these two every version had):
# an existing root without them is a typo that happens to exist or a mount point whose disk did not mount.
LAYOUT_DIRS = ("input", "state")


def require_storage_root(root: str | os.PathLike[str]) -> None:
    """Refuse a storage root that does not exist or is not a storage tree: only `vv bootstrap` creates
    one, so a typo in VIDEO_STORAGE_ROOT, or an empty mount point (an NFS share or USB disk that did not
    mount: the box would fill the root disk underneath it), fails with one line (issue 19)."""
    path = Path(root)
    if not path.is_dir():
        where = "" if path.parent.is_dir() else f" (nor does its parent {path.parent})"
        raise VVError(f"VIDEO_STORAGE_ROOT {path} does not exist{where}: fix the path in .env or the "
                      "environment, or run `vv bootstrap` to create a new storage tree there")
    missing = [name for name in LAYOUT_DIRS if not (path / name).is_dir()]
    if missing:
        try:
            empty = not any(path.iterdir())
        except OSError:
            empty = False
        what = "is empty" if empty else f"has no {' or '.join(f'{m}/' for m in missing)}"
        raise VVError(f"VIDEO_STORAGE_ROOT {path} {what}: not a storage tree. If it is a mount point, mount the "
                      "disk; else fix the path in .env or the environment, or run `vv bootstrap` to create "
                      "the storage tree there")


# The one rule of the stage commands' inputs: a LogLine names its video by its path inside the
# storage root, so every stage takes its input from inside the root, and the first stage says so.
INSIDE_ROOT_RULE = "stage inputs must be inside the storage root (VIDEO_STORAGE_ROOT), e.g. under input/"


def require_inside_root(path: str | os.PathLike[str], root: str | os.PathLike[str], what: str) -> None:
    """Refuse ``path`` (a stage's input) unless it lies inside ``root``: lexically, after making it
    absolute and folding ``..``, which is how the LogLine writer checks the video it names."""
    resolved_root = Path(os.path.normpath(Path(root).absolute()))
    if not Path(os.path.normpath(Path(path).absolute())).is_relative_to(resolved_root):
        raise VVError(f"{what} {path} is outside the storage root {resolved_root}: {INSIDE_ROOT_RULE}")
