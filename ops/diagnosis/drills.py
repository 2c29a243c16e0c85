"""`vv drill FAULT`: inject a known fault into a scratch box, diagnose it, let the box heal it, check
nothing is lost.

Steps (sandbox: ops/diagnosis/sandbox.py, faults: ops/diagnosis/faults.py): check the sandbox is
healthy, inject, diagnose (rules, and the LLM when asked), then up to MAX_ROUNDS rounds of
`vv diagnose --fix --apply` as a timer would run it (every action enabled in the drill), the box's
ordinary work after the first round. If the box is still not healthy, undo what only an operator or
time undoes (restore the key store's mode, release a lock, NTP bringing the clock back) and let it
run its rounds again. Last, compare the media by content hash: a file counts as lost unless it is
still there (anywhere) or the cleanup policy deleted it.
"""

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ops.diagnosis.catalogue import BY_ID, Thresholds
from ops.diagnosis.evidence import gather
from ops.diagnosis.faults import COMBOS, DRILLS, Drill, nothing
from ops.diagnosis.ranking import Diagnosis, diagnose
from ops.diagnosis.remediation import ActionResult, remediate
from ops.diagnosis.sandbox import Sandbox, build_sandbox, media_hashes

MAX_ROUNDS = 3


@dataclass
class DrillResult:
    fault: str                       # the drill: a fault id, or "a+b" for two faults at once
    root_cause: str                  # the fault the diagnosis must name first
    diagnosed: str | None
    rank: int | None                 # where the root cause was ranked (1 = first)
    path: str                        # rules | llm
    actions: list[str]               # "<action>: <outcome>"
    healed_by: str                   # "fix" (remediation) | "pipeline" (its ordinary work) | "operator/time"
    healthy_after: bool
    seconds_to_healthy: float
    alert: str
    media_lost: int
    harmful_actions: int
    explanation: str = ""
    operator_hint: str = ""          # what a person does, when the box cannot heal it by itself
    llm_diagnosed: str | None = None  # the LLM's pick (advisory: the actions follow the rules' ``diagnosed``)

    @property
    def healed_by_itself(self) -> bool:
        """Judged on what the box did: healthy again with no person (or time) undoing anything."""
        return self.healthy_after and self.healed_by in ("fix", "pipeline")

    @property
    def passed(self) -> bool:
        return self.rank == 1 and self.healthy_after and self.media_lost == 0 and self.harmful_actions == 0


def drill_named(name: str) -> tuple[tuple[str, ...], str, Drill]:
    """(the injected faults, the root cause, the drill) for a drill name."""
    if name in COMBOS:
        root, drill = COMBOS[name]
        return tuple(name.split("+")), root, drill
    return (name,), name, DRILLS[name]


@contextmanager
def sandbox_for(limits: Thresholds, base: Path | None = None) -> Iterator[Sandbox]:
    scratch = Path(tempfile.mkdtemp(prefix="vv-drill-", dir=base))
    sandbox = build_sandbox(scratch, limits)
    try:
        yield sandbox
    finally:
        sandbox.release_all()
        sandbox.status.stop()
        sandbox.key_store.chmod(0o600)
        shutil.rmtree(scratch, ignore_errors=True)


def run_drill(name: str, limits: Thresholds, *, llm_models_dir: Path | None = None, base: Path | None = None,
              alert: Callable[[str, str, str, dict[str, Any]], Any] | None = None) -> DrillResult:
    injected, root_cause, drill = drill_named(name)
    alerts: list[str] = []

    def record_alert(title: str, message: str, severity: str, context: dict[str, Any]) -> None:
        alerts.append(title)
        if alert is not None:
            alert(title, message, severity, context)

    with sandbox_for(limits, base) as sandbox:
        def look(use_llm: bool = False) -> Diagnosis:
            probe = replace(sandbox.probe, status_url=sandbox.status.url)
            evidence = gather(probe, clock=sandbox.clock)
            return diagnose(evidence, sandbox.limits, models_dir=llm_models_dir, use_llm=use_llm)

        def heal(diagnosis: Diagnosis, box: Callable[[Sandbox], None]) -> tuple[list[ActionResult], Diagnosis]:
            """`vv diagnose --fix --apply` round after round, as its timer runs it."""
            done: list[ActionResult] = []
            for _ in range(MAX_ROUNDS):
                if diagnosis.top is None:
                    break
                done += remediate(diagnosis, root=sandbox.root, models_dir=sandbox.models_dir,
                                  policy=sandbox.policy, apply=True, alert=record_alert, clock=sandbox.clock)
                box(sandbox)
                box = nothing   # the box's ordinary work happens once, after the first round
                diagnosis = look()
            return done, diagnosis

        baseline = look()
        if baseline.top is not None:
            raise RuntimeError(f"the drill sandbox is not healthy before the drill: {baseline.top}")
        before = media_hashes(sandbox.root)
        started = time.monotonic()
        drill.inject(sandbox)
        found = look(use_llm=llm_models_dir is not None)
        ranked = [c.fault for c in found.causes]
        actions, left = heal(found, drill.box)
        healthy, hint = left.top is None, ""
        healed_by = "fix" if any(a.outcome == "applied" for a in actions) else "pipeline"
        if not healthy:
            hint, healed_by = BY_ID[left.top].operator_hint, "operator/time"   # what the box could not end
            drill.undo(sandbox)
            more, left = heal(look(), nothing)
            actions, healthy = actions + more, left.top is None
        elapsed = time.monotonic() - started
        after = media_hashes(sandbox.root)
        freed = {h for a in actions if a.action == "free_space" for h, p in before.items() if p in a.changed}
        lost = len(set(before) - set(after) - freed)
        allowed = {remedy for fault in injected for remedy in BY_ID[fault].remedies}
        if any(a.action == "pause_ingestion" and a.outcome == "applied" for a in actions):
            allowed |= set(BY_ID["ingestion_paused"].remedies)   # a pause the drill's fix made is lifted
        harmful = sum(1 for a in actions if a.outcome == "applied" and a.action not in allowed)
    top_alert = BY_ID[found.top].alert_title if found.top else "-"
    return DrillResult(name, root_cause, found.top, ranked.index(root_cause) + 1 if root_cause in ranked else None,
                       found.path, [f"{a.action}: {a.outcome}" for a in actions], healed_by, healthy,
                       round(elapsed, 3), "; ".join([f"diagnosis: {top_alert}", *alerts]), lost, harmful,
                       found.explanation, hint, found.llm_top)


def confusion_table(results: list[DrillResult]) -> str:
    """Markdown: per drill, its root cause, what the rules and the LLM named first (the confusion
    table; "-" = the LLM was not asked or gave no answer, several runs that differ are joined by "/"),
    and whether the box healed itself, judged on what it did (the rule ranking drives the actions)."""
    lines = ["| drill | root cause | named first by rules | named first by the LLM | healed by itself |",
             "|---" * 5 + "|"]
    for fault in dict.fromkeys(r.fault for r in results):
        runs = [r for r in results if r.fault == fault]

        def seen(values: list[str]) -> str:
            return "/".join(dict.fromkeys(values))
        healed = sum(r.healed_by_itself for r in runs)
        lines.append(f"| {fault} | {runs[0].root_cause} | {seen([r.diagnosed or 'none' for r in runs])} | "
                     f"{seen([r.llm_diagnosed or '-' for r in runs])} | "
                     f"{'yes' if healed == len(runs) else 'no' if not healed else f'{healed}/{len(runs)}'} |")
    return "\n".join(lines)


def drill_summary(results: list[DrillResult]) -> str:
    """One line: root cause named first by the rules, by the LLM (of the runs it answered), healed by itself."""
    asked = [r for r in results if r.llm_diagnosed is not None]
    by_llm = (f"{sum(r.llm_diagnosed == r.root_cause for r in asked)}/{len(asked)}" if asked
              else "not asked")
    return (f"root cause named first by rules: {sum(r.diagnosed == r.root_cause for r in results)}/{len(results)}; "
            f"by the LLM: {by_llm}; healed by itself: {sum(r.healed_by_itself for r in results)}/{len(results)}")


def time_to_healthy(results: list[DrillResult]) -> str:
    """Markdown: per drill, who healed it and the median (min–max) seconds from injection to healthy."""
    lines = ["| drill | healed by | runs | passed | median s to healthy | min–max s |", "|---" * 6 + "|"]
    for fault in dict.fromkeys(r.fault for r in results):
        runs = [r for r in results if r.fault == fault]
        seconds = [r.seconds_to_healthy for r in runs]
        by = "/".join(dict.fromkeys(r.healed_by for r in runs))
        median = f"{statistics.median(seconds):.2f}" if by in ("fix", "pipeline") else "operator"
        lines.append(f"| {fault} | {by} | {len(runs)} | {sum(r.passed for r in runs)} | {median} | "
                     f"{min(seconds):.2f}–{max(seconds):.2f} |")
    return "\n".join(lines)
