"""Failure classification: is it the input's fault (quarantine now) or the box's (retry later)?

Permanent — the input itself is bad and retrying cannot help: the stage exited 1 (its contract for
"bad input": not a video, truncated, zero-byte …), or it exited 0 but its output breaks the schema.
Transient — the environment failed: timeout, SIGKILL (exit -9 / 137: the OOM killer or a
timeout), exit 2 (internal fault), any other abnormal exit, a missing or corrupted model or a key
store the stage cannot use (even when reported with exit 1: reinstalling the model or fixing the key
store fixes it, the video was never the problem), a container that is down or an engine that does
not answer. Transient failures retry with exponential backoff until MAX_ATTEMPTS.
"""

import re
from dataclasses import dataclass
from typing import Literal

from orchestrator.runners import StageResult

FailureKind = Literal["permanent", "transient"]
# A stage that cannot find its model says so; that is an installation problem, not the video's.
_MISSING_MODEL = re.compile(r"\bmodel\b.*\b(not found|missing|not installed|no such)\b|"
                            r"\b(missing|no)\b.*\bmodel\b|"
                            r"\bis not installed at\b.*\bvv model install\b", re.IGNORECASE)  # scan's own words
# A model file that fails its pinned sha256 (vv_core.models): the file is damaged, not the video.
_CORRUPTED_MODEL = re.compile(r"\bmodel\b.*\bfails its sha256 check\b", re.IGNORECASE)
# The HMAC key store (vv_core.keystore's errors all say "key store"): unreadable, open to others, missing.
_KEY_STORE = re.compile(r"\bkey store\b", re.IGNORECASE)
KILLED_EXIT_CODES = (-9, 137)


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    reason: str          # one line for the state DB, the error record and the alert
    exit_code: int | None = None

    @property
    def permanent(self) -> bool:
        return self.kind == "permanent"


def classify_result(result: StageResult) -> Failure:
    """Classify a failed :class:`StageResult` (callers check ``result.ok`` first)."""
    detail = result.error_line()
    if result.infrastructure_error:
        return Failure("transient", result.infrastructure_error)
    if result.timed_out:
        return Failure("transient", f"timeout after {result.duration_s:.0f} s", result.exit_code)
    code = result.exit_code
    if code in KILLED_EXIT_CODES:
        return Failure("transient", f"killed (exit {code}: out of memory or timeout)"
                       + (f": {detail}" if detail else ""), code)
    if code == 1:
        if _CORRUPTED_MODEL.search(detail):
            return Failure("transient", f"corrupted model: {detail}", code)
        if _MISSING_MODEL.search(detail):
            return Failure("transient", f"missing model: {detail}", code)
        if _KEY_STORE.search(detail):
            return Failure("transient", f"key store unreadable: {detail}", code)
        return Failure("permanent", detail or "bad input (exit 1)", code)
    if code == 2:
        if not detail:
            return Failure("transient", "internal error (exit 2)", code)
        reason = detail if detail.startswith("internal error") else f"internal error: {detail}"
        return Failure("transient", reason, code)
    return Failure("transient", f"exit {code}" + (f": {detail}" if detail else ""), code)


def invalid_output(reason: str) -> Failure:
    """The stage said it succeeded but its output breaks the contract: nothing to retry."""
    return Failure("permanent", f"invalid output: {reason}", 0)


def backoff_delay(attempts: int, base_s: float, max_s: float) -> float:
    """Delay before retry number ``attempts`` (1-based): base * 2^(attempts-1), capped."""
    if attempts <= 0 or base_s <= 0:
        return 0.0
    return float(min(max_s, base_s * (2 ** (attempts - 1))))
