"""How often each generation path is taken (free / grammar / template), and how often an installed
model was replaced by the template (e.g. it missed its deadline), as Prometheus counters.

In a long-lived process (a worker using :func:`summarize_scene.summarize_scene.summarize` as a
library, the benchmark) these counters accumulate and can be exported with prometheus_client.
Across CLI runs the same fact is durable in every summary's ``generation_path`` field, which the
orchestrator and tv_api can aggregate; :func:`count_paths` does that over a summaries directory.
"""

import json
from collections import Counter as TallyCounter
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter

GENERATION_PATHS = ("free", "grammar", "template")


def _build(registry: CollectorRegistry) -> tuple[Counter, Counter]:
    paths = Counter(
        "vv_summarize_generation_path", "Summaries written, by how the text was produced.",
        ["path"], registry=registry,
    )
    rejected = Counter(
        "vv_summarize_free_output_rejected", "Free-generation outputs that failed parse/validation.",
        registry=registry,
    )
    for path in GENERATION_PATHS:
        paths.labels(path=path)  # export zeros too: "never fell back" is information
    return paths, rejected


GENERATION_PATH_TOTAL, FREE_OUTPUT_REJECTED_TOTAL = _build(REGISTRY)
FALLBACK_REASONS = ("deadline", "contradiction")
LLM_FALLBACK_TOTAL = Counter(
    "vv_summarize_llm_fallback", "Template summaries written although a model is installed, by reason.",
    ["reason"],
)
for _reason in FALLBACK_REASONS:
    LLM_FALLBACK_TOTAL.labels(reason=_reason)


def record_fallback(reason: str) -> None:
    LLM_FALLBACK_TOTAL.labels(reason=reason).inc()


def fallback_counts() -> dict[str, int]:
    """This process's template fallbacks per reason (for tests, logs and the benchmark)."""
    return {reason: int(LLM_FALLBACK_TOTAL.labels(reason=reason)._value.get()) for reason in FALLBACK_REASONS}


def record_path(path: str, free_rejected: bool) -> None:
    GENERATION_PATH_TOTAL.labels(path=path).inc()
    if free_rejected:
        FREE_OUTPUT_REJECTED_TOTAL.inc()


def path_counts() -> dict[str, int]:
    """This process's counts per generation path (for tests, logs and the benchmark)."""
    return {path: int(GENERATION_PATH_TOTAL.labels(path=path)._value.get()) for path in GENERATION_PATHS}


def count_paths(summaries_dir: str | Path) -> dict[str, int]:
    """Counts per generation path over every ``*.summary.json`` in a directory (durable metric; a
    template written as a fallback also carries its ``fallback_reason``)."""
    tally: TallyCounter[str] = TallyCounter({path: 0 for path in GENERATION_PATHS})
    for file in Path(summaries_dir).glob("*.summary.json"):
        try:
            path = json.loads(file.read_text(encoding="utf-8")).get("generation_path")
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(path, str):
            tally[path] += 1
    return dict(tally)
