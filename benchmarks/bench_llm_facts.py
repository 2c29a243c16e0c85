"""Does the installed LLM's summary say what the facts say? The template and the model, same facts.

    python benchmarks/bench_llm_facts.py [--prompt FILE ...] [--threads 2]

A handful of fact sets (tracked analytics as the scanner writes them: distinct people, known and
unrecognised faces, a confirmed fall or none, a recording start, a box time zone) are summarized by
the template and by the real GGUF model of the manifest (Gemma 3 270M, ``pypi-assemble``; assembled
once into ~/.cache/vv-video-ai/models/<sha256>/) with each ``--prompt`` file (default: the shipped
prompt), free pass then grammar pass exactly as the pipeline runs them, *before* the fact guard.
Every text is scored with ``summarize_scene.factcheck`` (the guard's own checks):

- counts: no count of people other than the events' ("three people" for two; "nobody" when someone was there);
- falls: a fall word exactly when a fall was confirmed;
- names present: every recognised name; no other names: no name that is not in the facts;
- times: every clock time stated lies in the recording, in the configured zone (± 1 min);
- timeline given (informational, not a contradiction): at least one local clock time is stated.

Prints a table of pass rates per check and the share of texts the guard would replace by the
template (any contradiction); docs/performance.md keeps a copy.
"""

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

from benchmarks.bench_summarize import prepare_models_dir  # noqa: E402
from summarize_scene import engine  # noqa: E402
from summarize_scene.config import load_config  # noqa: E402
from summarize_scene.factcheck import _CLOCK, CHECKS, findings  # noqa: E402
from summarize_scene.facts import scene_facts  # noqa: E402
from summarize_scene.llm_model import resolve_current_llm  # noqa: E402
from summarize_scene.pipeline import GenerationFailed, generate_text, ordinary_words  # noqa: E402
from summarize_scene.prompt import load_prompt  # noqa: E402
from summarize_scene.template import template_summary  # noqa: E402

START = "2026-11-21T13:02:00Z"  # any fixed start: only the clock in the box's zone matters


def event(label: str, first: float, last: float, name: str | None = None, *, faces: bool = False) -> dict:
    """One confirmed event as scan_video writes it (times from START)."""
    def utc(seconds: float) -> str:
        return f"2026-11-21T13:{2 + int(seconds) // 60:02d}:{int(seconds) % 60:02d}.000Z"

    record = {"id": "e0", "label": label, "track_id": 0, "first_seen_s": first, "last_seen_s": last,
              "first_seen_utc": utc(first), "last_seen_utc": utc(last), "duration_s": last - first,
              "samples": 4, "detections": 4, "score": {"median": 0.8, "max": 0.9},
              "best": {"timestamp": first, "timestamp_utc": utc(first), "label": label, "confidence": 0.9,
                       "bbox": [0.1, 0.2, 0.3, 0.9]}}
    if name or faces:
        record["identity"] = {"name": name, "faces": 2, "matched": 2 if name else 0}
    return record


def analytic(camera: str, events: list[dict], duration: float = 60.0) -> dict:
    for index, item in enumerate(events, start=1):
        item["id"], item["track_id"] = f"e{index}", index
    return {"schema_version": "1.1", "id": f"{camera}_x", "camera": camera, "recorded_at": START,
            "video": {"duration_s": duration}, "detections": [], "events": events}


# (what, box time zone, analytic): the example first.
FACT_SETS = [
    ("two people at the gate, one is Maria", "Europe/Madrid",
     analytic("gate", [event("person", 5, 50, "Maria"), event("person", 8, 55, faces=True)])),
    ("one unrecognised person at night", "Asia/Tokyo", analytic("yard", [event("person", 10, 40, faces=True)])),
    ("a person falls in the hall", "America/New_York",
     analytic("hall", [event("person", 0, 20), event("fall", 25, 58)])),
    ("nothing there", "UTC", analytic("street", [])),
    ("three people, Ana and Carlo known", "Europe/Madrid",
     analytic("entrance", [event("person", 2, 30, "Ana"), event("person", 4, 33, "Carlo"), event("person", 40, 59)])),
    ("a car and a person, no fall", "Asia/Kolkata", analytic("drive", [event("car", 3, 20), event("person", 30, 45)])),
    ("a single known person, Maria", "Europe/Lisbon", analytic("door", [event("person", 12, 48, "Maria")])),
]


def score(facts, title: str, summary: str, words: tuple[str, ...]) -> dict[str, bool]:
    failed = {check for check, _ in findings(facts, title, summary, object_words=words)}
    result = {check: check not in failed for check in CHECKS}
    result["all agree (guard keeps it)"] = not failed
    result["timeline given"] = bool(_CLOCK.search(f"{title} {summary}"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", type=Path, action="append", default=None, help="prompt file(s) to compare")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show", action="store_true", help="print every text and its findings")
    args = parser.parse_args()
    config = load_config()
    words = ordinary_words(config)
    prompts = [load_prompt(p) for p in (args.prompt or [None])]
    # The deadline is the box's speed, not the text's truth: the benchmark gives generation time.
    config = config.model_copy(update={"generation": config.generation.model_copy(update={"timeout_s": 600})})
    columns: dict[str, list[dict[str, bool]]] = {"template": []}
    for _what, zone, document in FACT_SETS:
        facts = scene_facts(document, config, zone)
        columns["template"].append(score(facts, *template_summary(facts), words))
    with tempfile.TemporaryDirectory(prefix="bench-llm-facts-") as scratch:
        current = resolve_current_llm(prepare_models_dir(Path(scratch)))
        for prompt in prompts:  # one prompt at a time: the loaded model holds its fixed prefix
            rows = columns.setdefault(f"LLM, {prompt.version}", [])
            for what, zone, document in FACT_SETS:
                facts = scene_facts(document, config, zone)
                try:
                    written = generate_text(current, prompt, facts, config, n_threads=args.threads, use_cache=True)
                    title, summary = written.title, written.summary
                except GenerationFailed as exc:  # the pipeline fails such a summary: every check failed
                    title, summary = "", str(exc)
                rows.append(score(facts, title, summary, words))
                if args.show:
                    print(f"[{prompt.version}] {what}: {title!r} / {summary!r}\n    "
                          f"{findings(facts, title, summary, object_words=words)}")
            engine.clear_cache()
    print(f"\n{len(FACT_SETS)} fact sets, model {current.name} {current.version}\n")
    print("| check (pass rate) | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for check in [*CHECKS, "all agree (guard keeps it)", "timeline given"]:
        cells = [f"{sum(r[check] for r in rows)}/{len(rows)}" for rows in columns.values()]
        print(f"| {check} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
