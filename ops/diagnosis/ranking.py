"""Name the likely causes: the catalogue's rules rank them; the local LLM, when installed, gives its view.

The rule ranking is the diagnosis: it is deterministic, and `vv diagnose --fix` acts on its top
cause only. The LLM is advisory: it sees only the faults whose rules matched (ids, descriptions,
evidence lines), answers in a grammar that admits only those ids (so it cannot invent a cause), and
its pick and explanation are shown next to the rules' (with a line saying so when it disagrees). It
is asked only when at least two causes match (one cause has nothing to rank; the model takes 6–40 s
on the box): a periodic `vv diagnose` of a healthy box never loads it. An answer that names no
catalogue id, does not parse or takes too long is dropped.

The model is the one `vv model use` selected, verified against its pinned sha256 before llama.cpp
reads it (vv_core.models.current_model_path) and opened as the summarizer opens it
(vv_core.models.open_llm: seed 0); decoding is greedy.
"""

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ops.diagnosis.catalogue import BY_ID, FAULTS, Thresholds
from ops.diagnosis.evidence import Evidence
from vv_core.errors import VVError
from vv_core.models import current_model_path, open_llm

logger = logging.getLogger("vv.diagnose")
LLM_CONTEXT = 2048
LLM_MAX_TOKENS = 256
LLM_DEADLINE_S = 60.0


@dataclass
class Cause:
    fault: str
    score: int
    evidence: list[str]


@dataclass
class Diagnosis:
    causes: list[Cause]                  # the rule ranking: what is shown first and what --fix follows
    path: Literal["rules"] = "rules"     # which ranking ``causes`` is (always the rules': the LLM only advises)
    explanation: str = ""                # the rules' explanation of the top cause
    llm_note: str = ""                   # why the LLM was not asked, or how its view compares
    evidence: dict[str, Any] = field(default_factory=dict)
    llm_top: str | None = None           # the LLM's pick (one of the matched ids), when it answered
    llm_explanation: str = ""

    @property
    def top(self) -> str | None:
        return self.causes[0].fault if self.causes else None

    @property
    def llm_disagrees(self) -> bool:
        return self.llm_top is not None and self.llm_top != self.top

    def llm_view(self) -> str:
        """The line an operator reads about the LLM's view ("" when it gave none)."""
        if self.llm_top is None:
            return ""
        if self.llm_disagrees:
            return (f"the LLM ranks {self.llm_top} first; actions follow the rule ranking ({self.top}). "
                    f"The LLM's view: {self.llm_explanation}")
        return f"the LLM agrees ({self.llm_top}): {self.llm_explanation}"

    def to_json(self) -> dict[str, Any]:
        return {"top": self.top, "path": self.path, "explanation": self.explanation, "llm_note": self.llm_note,
                "llm": {"top": self.llm_top, "explanation": self.llm_explanation, "disagrees": self.llm_disagrees},
                "causes": [{"fault": c.fault, "score": c.score, "description": BY_ID[c.fault].description,
                            "evidence": c.evidence} for c in self.causes]}


def rank_by_rules(evidence: Evidence, limits: Thresholds) -> list[Cause]:
    causes = []
    for fault in FAULTS:
        lines = fault.rule(evidence, limits)
        if lines:
            causes.append(Cause(fault.id, fault.weight + min(len(lines), 9), lines))
    return sorted(causes, key=lambda cause: -cause.score)


def explain_by_rules(causes: list[Cause]) -> str:
    if not causes:
        return "No known fault matches the evidence."
    fault = BY_ID[causes[0].fault]
    return f"{fault.description} Evidence: {causes[0].evidence[0]}. {fault.operator_hint}"


def llm_prompt(causes: list[Cause]) -> str:
    candidates = "\n".join(f"- {c.fault}: {BY_ID[c.fault].description}\n  evidence: " + "; ".join(c.evidence[:4])
                           for c in causes)
    return ("<start_of_turn>user\nYou diagnose a video-processing box. Candidate causes with their evidence:\n"
            f"{candidates}\nPick the one cause that best explains the evidence and explain it to the operator "
            "in one or two sentences. Answer as JSON with keys cause and explanation.<end_of_turn>\n"
            "<start_of_turn>model\n")


def answer_schema(causes: list[Cause]) -> dict[str, Any]:
    return {"type": "object", "properties": {
        "cause": {"type": "string", "enum": [c.fault for c in causes]},
        "explanation": {"type": "string", "maxLength": 400}}, "required": ["cause", "explanation"]}


def accept_llm_answer(text: str, causes: list[Cause]) -> tuple[str, str] | None:
    """(cause id, explanation) when the answer names one of the candidate catalogue ids; else None."""
    try:
        answer = json.loads(text, strict=False)   # a small model may put a raw newline in a string
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    cause, explanation = answer.get("cause"), answer.get("explanation")
    if cause not in BY_ID or cause not in {c.fault for c in causes}:
        return None
    return cause, str(explanation or "").strip()[:400]


def ask_llm(models_dir: Path, causes: list[Cause], *, threads: int = 1) -> str:
    """The LLM's raw answer (JSON text). Raises VVError/OSError/RuntimeError/ValueError on failure."""
    path, _info = current_model_path(models_dir, "llm")   # sha256 verified before llama.cpp reads it
    import llama_cpp
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    schema = answer_schema(causes)
    grammar = llama_cpp.LlamaGrammar.from_string(json_schema_to_gbnf(json.dumps(schema), list(schema["properties"])),
                                                 verbose=False)
    llm = open_llm(path, n_ctx=LLM_CONTEXT, n_threads=threads)
    try:
        deadline = time.monotonic() + LLM_DEADLINE_S
        stop_late = llama_cpp.StoppingCriteriaList([lambda _t, _l: time.monotonic() > deadline])
        result = llm.create_completion(llm_prompt(causes), max_tokens=LLM_MAX_TOKENS, temperature=0.0, top_k=1,
                                       grammar=grammar, seed=0, stopping_criteria=stop_late)
        return str(result["choices"][0]["text"])
    finally:
        llm.close()


def diagnose(evidence: Evidence, limits: Thresholds, *, models_dir: Path | None = None,
             use_llm: bool = False) -> Diagnosis:
    causes = rank_by_rules(evidence, limits)
    diagnosis = Diagnosis(causes, "rules", explain_by_rules(causes), evidence=evidence.to_json())
    if not use_llm or models_dir is None:
        diagnosis.llm_note = "LLM not asked"
        return diagnosis
    if len(causes) < 2:
        diagnosis.llm_note = "nothing to rank" if not causes else "one cause matches: nothing to rank"
        return diagnosis
    try:
        text = ask_llm(models_dir, causes)
    except ImportError:
        diagnosis.llm_note = "llama.cpp is not installed"
        return diagnosis
    except (VVError, OSError, RuntimeError, ValueError) as exc:
        diagnosis.llm_note = f"LLM unavailable: {exc}"[:200]
        return diagnosis
    accepted = accept_llm_answer(text, causes)
    if accepted is None:
        diagnosis.llm_note = "LLM answer named no catalogue cause: ignored"
        logger.warning("LLM answer ignored (no catalogue id)", extra={"llm_answer": text[:300]})
        return diagnosis
    diagnosis.llm_top, diagnosis.llm_explanation = accepted
    diagnosis.llm_note = "LLM disagrees (advisory)" if diagnosis.llm_disagrees else "LLM agrees with the rules"
    if diagnosis.llm_disagrees:
        logger.warning("the LLM ranks %s first; actions follow the rule ranking (%s)", diagnosis.llm_top,
                       diagnosis.top, extra={"llm_top": diagnosis.llm_top, "rules_top": diagnosis.top})
    return diagnosis
