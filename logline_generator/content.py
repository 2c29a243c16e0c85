"""What a LogLine says: who did what to which thing, when — derived from one summary.

Pure functions of the summary document (no I/O), so the wording rules are easy to test.
"""

import os
from pathlib import Path, PurePosixPath
from typing import Any

from vv_core.errors import VVError
from vv_core.words import describe_counts, recognised_phrase

TITLE_MAX, SUMMARY_MAX, THIS_MAX = 200, 4000, 500


def describe_labels(labels: dict[str, int] | None) -> str | None:
    """``{"person": 3, "bicycle": 1}`` → ``"3 people, 1 bicycle"``, ``{"fall": 1}`` → ``"1 person
    (fallen)"`` (most frequent first; the summaries' words and plurals, ``vv_core.words``)."""
    text = describe_counts(labels)
    if text is None:
        return None
    return text if len(text) <= THIS_MAX else text[: THIS_MAX - 1] + "…"


def action_of(summary: dict[str, Any]) -> tuple[str, str]:
    """(did, this) for a summary: curated content is "curated", detections are "detected"."""
    described = describe_labels(summary.get("labels"))
    if summary["status"] == "curado":
        return "curated", _clip(summary["title"], THIS_MAX)
    if described:
        return "detected", described
    return "recorded", "no detections"


def who_of(summary: dict[str, Any]) -> str:
    """The camera, with the people its faces recognised (or that they were not recognised)."""
    camera = summary["source"].get("camera") or "unknown"
    people = summary.get("people")
    if not people:
        return camera
    return f"{recognised_phrase(people)} at {camera}"


def relative_to_root(path_text: str, storage_root: Path, what: str) -> str:
    """A storage-relative POSIX path; absolute paths must lie inside the root, ``..`` never."""
    path = Path(path_text)
    if path.is_absolute():
        root = storage_root.absolute()
        if not path.is_relative_to(root):
            raise VVError(f"{what} {path_text} is outside the storage root {root}")
        path = path.relative_to(root)
    posix = PurePosixPath(*path.parts)
    if ".." in posix.parts or not posix.parts:
        raise VVError(f"{what} {path_text!r} must be a path inside the storage root")
    return str(posix)


def logline_fields(summary: dict[str, Any], summary_path: Path, storage_root: Path) -> dict[str, Any]:
    """The unsigned content of the LogLine for ``summary`` (already schema-valid)."""
    source = summary["source"]
    did, this = action_of(summary)
    record_source: dict[str, Any] = {"video": relative_to_root(source["video"], storage_root, "video")}
    if source.get("duration_s") is not None:
        record_source["duration_s"] = source["duration_s"]
    summary_abs = Path(os.path.abspath(summary_path))
    root = storage_root.absolute()
    record_source["summary"] = (str(PurePosixPath(*summary_abs.relative_to(root).parts))
                                if summary_abs.is_relative_to(root) else str(summary_abs))
    return {
        "schema_version": "1.0",
        "id": summary["id"],
        "who": _clip(who_of(summary), 200),
        "did": did,
        "this": this,
        "when": source.get("recorded_at") or summary["created_at"],
        "status": summary["status"],
        "title": _clip(summary["title"], TITLE_MAX),
        "summary": _clip(summary["summary"], SUMMARY_MAX),
        "source": record_source,
        "source_hash": summary["source_hash"],
    }


def render_markdown(record: dict[str, Any]) -> str:
    """The simplified, human view of a LogLine (the JSON file is the authority)."""
    source = record["source"]
    lines = [
        f"# {record.get('title') or record['id']}",
        "",
        f"**{record['who']}** {record['did']} **{record['this']}** — {record['when']}",
        "",
        f"- status: `{record['status']}`",
        f"- video: `{source['video']}`"
        + (f" ({source['duration_s']:g} s)" if "duration_s" in source else ""),
        f"- source sha256: `{record['source_hash']}`",
        f"- chain: seq {record['seq']}, prev `{record['prev_hash'][:16]}…`, key `{record['key_id']}`",
        "",
    ]
    if record.get("summary"):
        lines += [record["summary"], ""]
    lines.append(f"_Signed LogLine `{record['id']}.logline.json`: verify with `vv verify`._")
    return "\n".join(lines) + "\n"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
