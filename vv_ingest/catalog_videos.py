"""catalog_videos: the JSON manifest of the library (`vv ingest catalog`).

    python -m vv_ingest.catalog_videos [--library DIR]

One entry per library video: id, title, duration, resolution, size, sha256, thumbnail, tags (from the
``<id>.meta.json`` process_video wrote). Incremental: a file whose size and mtime match the previous
manifest keeps its entry without being hashed or probed again. Written atomically after validation
against schemas/catalog.schema.json; prints the manifest path.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from vv_core.atomic import atomic_write_json
from vv_core.cli_support import run_command, run_stage
from vv_core.errors import VVError
from vv_core.hashing import compute_sha256
from vv_core.jsonlog import start_process, utc_timestamp
from vv_core.mediaprobe import MediaProbeError, probe_media
from vv_core.naming import sanitize_id
from vv_core.schema import validate_schema
from vv_ingest.config import IngestConfig, load_ingest_config
from vv_ingest.process_video import quarantine
from vv_ingest.settings import IngestSettings

logger = logging.getLogger("vv.vv_ingest")


@dataclass
class CatalogReport:
    manifest: Path
    items: int
    hashed: int
    reused: int
    quarantined: list[Path]


def relative(path: Path, root: Path) -> str:
    absolute = path.absolute()
    return absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else str(absolute)


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The previous manifest, or None if there is none or it is unusable (then everything is rehashed)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        validate_schema(document, "catalog")
        return document
    except FileNotFoundError:
        return None
    except (OSError, ValueError, VVError) as exc:
        logger.warning("previous catalog unusable: rebuilding it", extra={"file": str(path), "reason": str(exc)})
        return None


def read_meta(video: Path) -> dict[str, Any]:
    try:
        meta = json.loads(video.with_suffix(".meta.json").read_text(encoding="utf-8"))
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def describe(video: Path) -> dict[str, Any]:
    """Title and tags from ``<id>.meta.json`` (written by process_video, editable by an operator)."""
    meta = read_meta(video)
    tags = meta.get("tags", [])
    return {
        "title": (str(meta.get("title") or "").strip() or sanitize_id(video.stem))[:200],
        "tags": sorted({str(tag).strip() for tag in tags if str(tag).strip()}) if isinstance(tags, list) else [],
    }


def catalog_entry(video: Path, root: Path, stat_size: int, mtime_ns: int) -> dict[str, Any]:
    info = probe_media(video)
    if not info.has_video or not info.width or not info.height:
        raise MediaProbeError(f"{video.name}: no video stream")
    thumbnail = video.with_suffix(".jpg")
    return {
        "id": sanitize_id(video.stem),
        **describe(video),
        "video": relative(video, root),
        "duration_s": round(info.duration_s, 3),
        "resolution": f"{info.width}x{info.height}",
        "width": info.width,
        "height": info.height,
        "size_bytes": stat_size,
        "sha256": compute_sha256(video),
        "thumbnail": relative(thumbnail, root) if thumbnail.exists() else None,
        "mtime_ns": mtime_ns,
        "cataloged_at": utc_timestamp(),
    }


def build_catalog(settings: IngestSettings, config: IngestConfig | None = None,
                  library: Path | None = None) -> CatalogReport:
    config = config or load_ingest_config(settings)
    root = settings.storage.root
    library = library or config.resolve(settings, config.library_dir)
    manifest_path = config.resolve(settings, config.catalog_file)
    if not library.is_dir():
        raise VVError(f"library {library} does not exist (run `vv ingest process` first)")
    previous = read_manifest(manifest_path)
    known = {item["video"]: item for item in (previous or {}).get("items", [])}
    items, hashed, reused, quarantined = [], 0, 0, []
    for video in sorted(p for p in library.glob("*.mp4") if not p.name.startswith(".")):
        stat = video.stat()
        old = known.get(relative(video, root))
        if old and old["size_bytes"] == stat.st_size and old["mtime_ns"] == stat.st_mtime_ns:
            items.append({**old, **describe(video)})   # title/tags may be edited: cheap to re-read
            reused += 1
            continue
        try:
            items.append(catalog_entry(video, root, stat.st_size, stat.st_mtime_ns))
            hashed += 1
        except MediaProbeError as exc:
            quarantined.append(quarantine(video, config.resolve(settings, config.quarantine_dir), str(exc)))
    document = {"schema_version": "1.0", "generated_at": utc_timestamp(), "library": relative(library, root),
                "items": items}
    validate_schema(document, "catalog")
    atomic_write_json(manifest_path, document)
    logger.info("catalog written", extra={"file": str(manifest_path), "items": len(items), "hashed": hashed,
                                          "reused": reused})
    return CatalogReport(manifest_path, len(items), hashed, reused, quarantined)


def catalog_command(
    library: Annotated[Path | None, typer.Option(help="Library folder (default: config).")] = None,
) -> None:
    """Build the library's JSON manifest (incremental: unchanged files are not re-hashed).

    Validated against schemas/catalog.schema.json and written atomically; prints the manifest path.
    """

    def action() -> Path:
        settings = IngestSettings()
        start_process("vv_ingest", settings, console="stderr")
        return build_catalog(settings, library=library).manifest

    run_stage(action)


def main(argv: list[str] | None = None) -> int:
    return run_command(catalog_command, argv, "catalog_videos")


if __name__ == "__main__":
    raise SystemExit(main())
