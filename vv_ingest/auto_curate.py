"""auto_curate: rotate a selection of the catalog into tv_curado/ and sign it (`vv ingest curate`).

    python -m vv_ingest.auto_curate [--force]

Once per rotation period (``curation`` in vv_ingest/config.yaml): pick ``count`` catalog items with one
of the configured tags that were not shown in the last ``no_repeat_days`` (least recently shown first),
place them as ``tv_curado/<id>.mp4``, write a summary (engine ``catalog``, status ``curado``) per item
into summaries/ and turn them into signed LogLines through one run of the logline generator's CLI (one
checkpoint for the selection), so curated items reach the TVs by the same signed path as camera
events. The previous selection leaves tv_curado/. The history (state/curation_history.json) is
written last: a run that fails midway is simply redone by the next run, with the same ids (the
LogLine generator is idempotent per id).
Prints the LogLines written.
"""

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from vv_core.atomic import atomic_write_json
from vv_core.cli_support import run_command, run_stage
from vv_core.errors import VVError
from vv_core.jsonlog import start_process, utc_timestamp
from vv_core.naming import sanitize_id
from vv_core.schema import validate_schema
from vv_ingest.catalog_videos import read_manifest, relative
from vv_ingest.config import Curation, IngestConfig, load_ingest_config
from vv_ingest.settings import IngestSettings

logger = logging.getLogger("vv.vv_ingest")
HISTORY_FILE = "curation_history.json"
HISTORY_KEEP = 1000                 # rotations remembered (far more than any no-repeat window needs)
PROMPT_VERSION = "vv_ingest.auto_curate/1.0.0"
DAY_S = 86_400.0


class CurationError(VVError):
    """Curation cannot run (no catalog) or a LogLine could not be written."""


@dataclass
class CurationReport:
    rotated: bool
    rotation_id: str | None = None
    videos: list[Path] = field(default_factory=list)
    summaries: list[Path] = field(default_factory=list)
    loglines: list[Path] = field(default_factory=list)
    reason: str = ""


def load_history(path: Path) -> list[dict[str, Any]]:
    try:
        rotations = json.loads(path.read_text(encoding="utf-8")).get("rotations", [])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, AttributeError) as exc:
        raise CurationError(f"{path}: unreadable curation history ({type(exc).__name__}); fix or remove it") from exc
    return [r for r in rotations if isinstance(r, dict) and "started_ts" in r and "items" in r]


def select_items(items: list[dict[str, Any]], history: list[dict[str, Any]], rules: Curation,
                 now: float) -> list[dict[str, Any]]:
    """Pure selection: matching tags, not shown within the window, least recently shown first."""
    window_start = now - rules.no_repeat_days * DAY_S
    recent = {item["sha256"] for rotation in history if rotation["started_ts"] >= window_start
              for item in rotation["items"]}
    last_shown: dict[str, float] = {}
    for rotation in history:
        for item in rotation["items"]:
            last_shown[item["sha256"]] = max(last_shown.get(item["sha256"], 0.0), rotation["started_ts"])
    wanted = set(rules.tags)
    eligible = [item for item in items
                if item["sha256"] not in recent and (not wanted or wanted & set(item["tags"]))]
    eligible.sort(key=lambda item: (last_shown.get(item["sha256"], 0.0), item["id"]))
    chosen, seen = [], set()
    for item in eligible:               # the same content twice in the library is still shown once
        if item["sha256"] not in seen:
            seen.add(item["sha256"])
            chosen.append(item)
    return chosen[: rules.count]


def place_video(source: Path, target: Path) -> None:
    """Put a library video in tv_curado/ atomically (hard link when possible: no extra space)."""
    temp = target.with_name(f".{target.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    try:
        os.link(source, temp)
    except OSError:
        shutil.copyfile(source, temp)
    os.replace(temp, target)


def curated_summary(item: dict[str, Any], video_rel: str, catalog_rel: str, rotation_id: str,
                    created_at: str) -> dict[str, Any]:
    tags = ", ".join(item["tags"])
    text = f"Curated content: {item['title']} ({item['duration_s']:.0f} s, {item['resolution']})"
    if tags:
        text += f"; tags: {tags}"
    return {
        "schema_version": "1.0",
        "id": sanitize_id(f"curado_{item['id']}_{rotation_id}"),
        "source": {"video": video_rel, "analytic": catalog_rel, "camera": "vv_ingest", "recorded_at": None,
                   "duration_s": item["duration_s"]},
        "source_hash": item["sha256"],
        "created_at": created_at,
        "engine": "catalog",
        "generation_path": "catalog",
        "model": None,
        "prompt_version": PROMPT_VERSION,
        "title": item["title"][:120],
        "summary": text[:2000],
        "status": "curado",
        "status_reason": f"rotation {rotation_id}" + (f" (tags: {tags})" if tags else ""),
        "confidence": 1.0,
    }


def write_loglines(summary_paths: list[Path], settings: IngestSettings) -> list[Path]:
    """The logline generator's own CLI (stages talk through files and commands, not imports), once
    for the whole selection: one run signs one checkpoint over all its LogLines, in this order."""
    env = dict(os.environ, VIDEO_STORAGE_ROOT=str(settings.video_storage_root),
               KEY_STORE_PATH=str(settings.key_store_path),
               CHECKPOINT_KEY_STORE_PATH=str(settings.checkpoint_key_store_path.expanduser().absolute()))
    # The generator from this same checkout (as an editable install would give it).
    repo = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), str(repo / "vv-core"), env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-m", "logline_generator.logline_generator", *map(str, summary_paths),
                           "--output-dir", str(settings.storage.loglines)],
                          capture_output=True, text=True, env=env, timeout=120 * len(summary_paths), check=False)
    names = ", ".join(path.name for path in summary_paths)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise CurationError(f"logline for {names} failed: {lines[-1] if lines else done.returncode}")
    written = [Path(line) for line in done.stdout.strip().splitlines()]
    if len(written) != len(summary_paths):
        raise CurationError(f"logline for {names} printed {len(written)} paths for {len(summary_paths)} summaries")
    return written


def curate(settings: IngestSettings, config: IngestConfig | None = None, *, now: float | None = None,
           force: bool = False) -> CurationReport:
    config = config or load_ingest_config(settings)
    rules = config.curation
    now = time.time() if now is None else now
    layout = settings.storage
    catalog_path = config.resolve(settings, config.catalog_file)
    catalog = read_manifest(catalog_path)
    if catalog is None:
        raise CurationError(f"no usable catalog at {catalog_path} (run `vv ingest catalog` first)")
    history_path = layout.state / HISTORY_FILE
    history = load_history(history_path)
    if history and not force and now - history[-1]["started_ts"] < rules.rotation_period_hours * 3600:
        return CurationReport(False, reason="current selection is still within its rotation period")
    items = [item for item in catalog["items"] if (layout.root / item["video"]).is_file()]
    chosen = select_items(items, history, rules, now)
    if not chosen:
        logger.warning("nothing eligible to curate: keeping the current selection",
                       extra={"tags": rules.tags, "no_repeat_days": rules.no_repeat_days})
        return CurationReport(False, reason="no eligible item (tags / no-repeat window)")
    if len(chosen) < rules.count:
        logger.warning("fewer eligible items than wanted", extra={"wanted": rules.count, "chosen": len(chosen)})

    rotation_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    created_at = utc_timestamp(now)
    report = CurationReport(True, rotation_id)
    layout.tv_curado.mkdir(parents=True, exist_ok=True)
    catalog_rel = relative(catalog_path, layout.root)
    for item in chosen:
        video = layout.tv_curado / f"{item['id']}.mp4"
        place_video(layout.root / item["video"], video)
        summary = curated_summary(item, relative(video, layout.root), catalog_rel, rotation_id, created_at)
        validate_schema(summary, "summary")
        report.videos.append(video)
        report.summaries.append(atomic_write_json(layout.summaries / f"{summary['id']}.summary.json", summary))
    report.loglines = write_loglines(report.summaries, settings)
    entries = [{"id": item["id"], "sha256": item["sha256"], "video": relative(video, layout.root),
                "summary": relative(summary_path, layout.root), "logline": relative(logline, layout.root)}
               for item, video, summary_path, logline
               in zip(chosen, report.videos, report.summaries, report.loglines, strict=True)]
    # The previous selection leaves the TVs' folder (its LogLines stay: the signed chain is history).
    placed_now = {entry["video"] for entry in entries}
    for old in (history[-1]["items"] if history else []):
        if old["video"] not in placed_now:
            with contextlib.suppress(FileNotFoundError):
                (layout.root / old["video"]).unlink()
    history.append({"rotation_id": rotation_id, "started_at": created_at, "started_ts": now, "items": entries})
    atomic_write_json(history_path, {"rotations": history[-HISTORY_KEEP:]})
    logger.info("curated selection rotated", extra={"rotation_id": rotation_id, "items": len(entries)})
    return report


def curate_command(
    force: Annotated[bool, typer.Option("--force", help="Rotate now, even inside the rotation period.")] = False,
) -> None:
    """Rotate a selection from the catalog into tv_curado/ and write its LogLines (status curado).

    Once per rotation period (``curation`` in vv_ingest/config.yaml); prints the LogLines written.
    """

    def action() -> list[Path]:
        settings = IngestSettings()
        start_process("vv_ingest", settings, console="stderr")
        return curate(settings, force=force).loglines

    run_stage(action)


def main(argv: list[str] | None = None) -> int:
    return run_command(curate_command, argv, "auto_curate")


if __name__ == "__main__":
    raise SystemExit(main())
