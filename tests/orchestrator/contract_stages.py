"""CONTRACT TEST DOUBLE — not the real stages.

A real subprocess that speaks the stage command contract of DESIGN.md (`scan`, `summarize`,
`logline`, `schedule --once`): exit 0 + output path on stdout, exit 1 = bad input, exit 2 =
internal fault, one line on stderr, outputs written atomically and schema-valid (built from the
schemas' own examples). The orchestrator's runner, failure classification, retry and crash logic
are tested against it; the end-to-end tests use the real stages.

"Videos" for it are files starting with ``CONTRACTVIDEO``; anything else is "not a video" (exit 1).
``scan A B … --id a --id b …`` scans each (as the real `vv scan` does for a batch): a bad one gets its
own error line, the others are written, exit 1 if any failed; ``logline A B …`` writes each in order.
Failure injection: ``CONTRACT_CONTROL=<json file>`` ``{"<stage>": {"mode": M, "times": N}}`` makes
the next N runs of that stage fail with mode M (exit1, exit2, sleep, kill9, invalid, wrong_hash,
missing_model, no_path, outside_root: a summary whose video lies outside the storage root,
sleep_after: write every output, then hang for a minute), after ``"skip": K`` runs that pass; the
counters are kept in the same file. ``CONTRACT_LOG=<file>``: each LogLine written appends a line
"<time> <video id>" (the order and count of the writes, which the files alone do not show).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

from vv_core.atomic import atomic_write_json
from vv_core.hashing import compute_sha256

# Read the schemas' examples directly (no jsonschema import: keeps each stage run fast).
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

MAGIC = b"CONTRACTVIDEO"


def fail(message: str, code: int) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def injected_failure(stage: str) -> str | None:
    control = os.environ.get("CONTRACT_CONTROL")
    if not control or not Path(control).is_file():
        return None
    plan = json.loads(Path(control).read_text())
    entry = plan.get(stage)
    if not entry or entry.get("times", 0) <= 0:
        return None
    if entry.get("skip", 0) > 0:  # let this many runs pass first
        entry["skip"] -= 1
        atomic_write_json(control, plan)
        return None
    entry["times"] -= 1
    atomic_write_json(control, plan)
    return entry["mode"]


def example(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())["examples"][0]


def main(argv: list[str]) -> None:
    stage, args = argv[0], argv[1:]
    mode = injected_failure(stage)
    if mode == "exit2":
        fail("internal error: RuntimeError: injected", 2)
    if mode == "exit1":
        fail("injected bad input", 1)
    if mode == "missing_model":
        fail("model not found: models/yolo/current", 1)
    if mode == "sleep":
        time.sleep(60)
    if mode == "kill9":
        os.kill(os.getpid(), signal.SIGKILL)
    if stage == "schedule":
        out = Path(os.environ["VIDEO_STORAGE_ROOT"]) / "playlists" / "contract.json"
        atomic_write_json(out, {"rebuilt_at": time.time()})
        print(out)
        return
    sources = [Path(a) for a in args[:args.index("--output-dir")]]
    out_dir = Path(args[args.index("--output-dir") + 1])
    if stage == "scan":
        ids = [args[i + 1] for i, a in enumerate(args) if a == "--id"]
        bad = [scan(video, video_id, out_dir, mode) for video, video_id in zip(sources, ids, strict=True)]
        if any(bad):
            raise SystemExit(1)
        return
    for source in sources:  # `logline A B …` writes each, in order
        write_output(stage, source, out_dir, mode)
    if mode == "sleep_after":
        time.sleep(60)


def scan(source: Path, video_id: str, out_dir: Path, mode: str | None) -> bool:
    """Write one analytic; True when the video was bad (its error line printed)."""
    if not source.is_file() or not source.read_bytes().startswith(MAGIC):
        print(f"error: not a video: {source.name}", file=sys.stderr)
        return True
    document = example("analytic")
    document["source_hash"] = compute_sha256(source)
    document["source"] = str(source)
    finish(document, video_id, out_dir / f"{video_id}.analytic.json", mode)
    return False


def write_output(stage: str, source: Path, out_dir: Path, mode: str | None) -> None:
    upstream = json.loads(source.read_text())
    video_id = upstream["id"]
    document = example("summary" if stage == "summarize" else "logline")
    suffix = ".summary.json" if stage == "summarize" else ".logline.json"
    document["source_hash"] = upstream["source_hash"]
    finish(document, video_id, out_dir / f"{video_id}{suffix}", mode)
    if stage == "logline" and os.environ.get("CONTRACT_LOG"):
        with open(os.environ["CONTRACT_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{time.time()!r} {video_id}\n")


def finish(document: dict, video_id: str, out: Path, mode: str | None) -> None:
    document["id"] = video_id
    if mode == "invalid":
        document["schema_version"] = "9.9"
    if mode == "wrong_hash":
        document["source_hash"] = "0" * 64
    if mode == "outside_root":  # schema-valid, but no LogLine may point there
        document["source"]["video"] = "../outside/the/root.mp4"
    atomic_write_json(out, document)
    if mode != "no_path":
        print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
