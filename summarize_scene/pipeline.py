"""The summarize step: analytic JSON in, summaries/<id>.summary.json out (atomic, schema-valid).

read + validate analytic → facts → status (rules) → text (model: free pass, grammar pass only if
the free text is rejected; the template when no model is installed, or when the model misses its
generation deadline: a slow box still gets a truthful, labelled summary instead of a video stuck in
retries) → assemble → validate → atomic write. Nothing is written unless every step succeeded.
"""

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarize_scene import engine, metrics, prefix_cache
from summarize_scene.config import SummarizeConfig, load_config
from summarize_scene.factcheck import contradictions
from summarize_scene.facts import SceneFacts, decide_status, forbidden_words, identities, scene_facts
from summarize_scene.llm_model import CurrentLLM, resolve_current_llm
from summarize_scene.prompt import (
    OutputRejected,
    PromptTemplate,
    close_cut_json,
    load_prompt,
    output_schema,
    parse_output,
)
from summarize_scene.settings import SummarizeSettings
from summarize_scene.template import CONTRADICTION_NOTE, DEADLINE_NOTE, template_summary
from vv_core.atomic import atomic_write_json
from vv_core.errors import VVError
from vv_core.jsonlog import utc_timestamp
from vv_core.schema import validate_schema

logger = logging.getLogger("vv.summarize_scene")
TEMPLATE_VERSION = "template/1.1.0"  # 1.1.0: "1 person (fallen)", names with the unrecognised


class AnalyticError(VVError):
    """The analytic file cannot be read, is not JSON, or breaks its contract."""


class GenerationFailed(Exception):
    """Even the grammar pass produced no acceptable summary."""


@dataclass
class GeneratedText:
    title: str
    summary: str
    path: str                                   # free | grammar | template
    free_rejected_reason: str | None
    timings: dict[str, float | int] = field(default_factory=dict)
    fallback_reason: str | None = None          # why the template was written although a model is installed


@dataclass
class SummaryResult:
    path: Path
    document: dict[str, Any]
    generation_path: str
    free_rejected_reason: str | None = None
    path_counts: dict[str, int] = field(default_factory=dict)   # this process, after this summary


def read_analytic(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AnalyticError(f"analytic not found: {path}") from None
    except OSError as exc:
        raise AnalyticError(f"cannot read analytic {path}: {exc.strerror}") from None
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", "?")
        raise AnalyticError(f"analytic {path} is not valid JSON (line {line})") from None
    validate_schema(document, "analytic")  # SchemaValidationError names the field
    return document


def generate_text(
    current: CurrentLLM, prompt: PromptTemplate, facts: SceneFacts, config: SummarizeConfig,
    *, n_threads: int, use_cache: bool, prefix_cache_dir: Path | None = None,
) -> GeneratedText:
    """Title and summary from the model: free generation first, the JSON-schema grammar only on rejection.

    A freshly loaded model gets the prompt's fixed opening from ``prefix_cache_dir`` (or evaluates
    it there once); a reused model still holds it from its last summary."""
    model, cached_tokens, load_ms = _ready_model(current, prompt, config, n_threads=n_threads,
                                                 use_cache=use_cache, prefix_cache_dir=prefix_cache_dir)
    try:
        title, summary, path, rejected, attempts = _complete(model, prompt, facts, config)
    finally:
        if not use_cache:
            engine.release_model(model)
    generate_ms = sum(a.generate_ms for a in attempts)
    generated = sum(a.generated_tokens for a in attempts)
    timings = {
        "load_ms": round(load_ms, 1),
        "generate_ms": round(generate_ms, 1),
        "prompt_tokens": attempts[-1].prompt_tokens,
        "prompt_tokens_restored": cached_tokens,
        "generated_tokens": generated,
        "tokens_per_s": round(generated / (generate_ms / 1000), 1) if generate_ms > 0 else 0.0,
    }
    return GeneratedText(title, summary, path, rejected, timings)


def _ready_model(current: CurrentLLM, prompt: PromptTemplate, config: SummarizeConfig, *, n_threads: int,
                 use_cache: bool, prefix_cache_dir: Path | None) -> tuple[Any, int, float]:
    """The loaded model with the prompt's fixed opening in place: (model, restored tokens, setup ms)."""
    generation = config.generation
    model, reused = engine.load_model(
        current.path, current.sha256, n_threads=n_threads, n_ctx=generation.n_ctx,
        verify=current.verify, use_cache=use_cache,
    )
    if reused:
        return model, 0, 0.0
    priming = time.perf_counter()
    primed = prefix_cache.prime(model.llm, prompt.fixed_prefix, model_sha256=current.sha256,
                                n_ctx=generation.n_ctx, directory=prefix_cache_dir)
    cached_tokens = primed.tokens if primed.source == "restored" else 0
    # Verification, llama.cpp load (even when it ran in the background) and restoring (or once
    # building) the prompt prefix: what having the model ready cost this summary.
    return model, cached_tokens, model.setup_ms + (time.perf_counter() - priming) * 1000


def _complete(model: Any, prompt: PromptTemplate, facts: SceneFacts,
              config: SummarizeConfig) -> tuple[str, str, str, str | None, list[Any]]:
    """(title, summary, "free" | "grammar", why the free pass was rejected, the attempts made)."""
    generation = config.generation
    deadline = time.monotonic() + generation.timeout_s
    required = facts.required_words()
    base = prompt.render(facts)
    common = {"temperature": generation.temperature, "stop": list(prompt.stop), "deadline": deadline}
    attempts = [engine.complete(model, base + prompt.free_prefix, max_tokens=generation.free.max_tokens,
                                **common)]
    try:
        title, summary = parse_output(prompt.free_prefix.lstrip() + attempts[0].text, required, generation,
                                      forbidden_words(facts, config))
        problems = contradictions(facts, title, summary, object_words=ordinary_words(config))
        if not problems:
            return title, summary, "free", None, attempts
        rejected = f"contradicts the facts: {'; '.join(problems)}"
    except OutputRejected as why:
        rejected = str(why)
    logger.info("free output rejected (%s); retrying with the JSON-schema grammar", rejected)
    grammar = engine.grammar_for(output_schema(required))
    attempts.append(engine.complete(model, base + " ", max_tokens=generation.grammar.max_tokens,
                                    grammar=grammar, **common))
    # The grammar guarantees form and the required words; contradictions are not
    # expressible in its regex subset, so only the hard contract is checked here.
    grammar_text = attempts[-1].text
    if attempts[-1].finish_reason == "length":
        grammar_text = close_cut_json(grammar_text)
    try:
        title, summary = parse_output(grammar_text, required, generation, clip_lengths=True)
    except OutputRejected as still:
        raise GenerationFailed(
            f"model output rejected even with the grammar ({still}); free pass: {rejected}"
        ) from None
    return title, summary, "grammar", rejected, attempts


def ordinary_words(config: SummarizeConfig) -> tuple[str, ...]:
    """Words a summary may capitalise that are not names: the config's label words and objects."""
    words = [w.word for w in config.labels.values()] + [w.display or "" for w in config.labels.values()]
    return tuple(part for text in words + list(config.object_words) for part in text.replace("-", " ").split())


def checked_text(written: GeneratedText, facts: SceneFacts, config: SummarizeConfig,
                 log_context: dict[str, Any]) -> GeneratedText:
    """The model's text if it agrees with the facts, else the template labelled as the fallback
    (``fallback_reason`` names the first contradiction): a signed summary never says what the
    analytic does not."""
    if written.path == "template":
        return written
    problems = contradictions(facts, written.title, written.summary, object_words=ordinary_words(config))
    if not problems:
        return written
    reason = f"llm text contradicted the facts ({'; '.join(problems)})"
    logger.warning("%s: writing a template summary instead", reason, extra=log_context)
    metrics.record_fallback("contradiction")
    title, text = template_summary(facts, note=CONTRADICTION_NOTE)
    return GeneratedText(title, text, "template", written.free_rejected_reason, written.timings,
                         fallback_reason=reason[:500])


def _source_block(analytic: dict[str, Any], analytic_path: Path, storage_root: Path) -> dict[str, Any]:
    resolved = analytic_path.resolve()
    shown = resolved.relative_to(storage_root.resolve()) if resolved.is_relative_to(storage_root.resolve()) \
        else analytic_path
    return {
        "video": analytic["source"], "analytic": str(shown), "camera": analytic.get("camera"),
        "recorded_at": analytic.get("recorded_at"), "duration_s": analytic["video"]["duration_s"],
    }


def _write_text(current: CurrentLLM | None, prompt: PromptTemplate, facts: SceneFacts, config: SummarizeConfig,
                settings: SummarizeSettings, *, use_cache: bool, log_context: dict[str, Any]) -> GeneratedText:
    """Title and summary from the current LLM, or from the template when none is installed or it
    misses its deadline (the status never depends on the text, so a template summary routes and
    alerts exactly as the model's would). A model whose output is rejected even with the grammar
    still fails the summary (GenerationFailed): that is a broken model, not a slow box."""
    if current is None:
        logger.warning("no LLM installed: writing a template summary", extra=log_context)
        title, text = template_summary(facts)
        return GeneratedText(title, text, "template", None, {})
    try:
        written = generate_text(current, prompt, facts, config, n_threads=settings.llm_threads, use_cache=use_cache,
                                prefix_cache_dir=prefix_cache.default_directory(settings.storage.state))
        return checked_text(written, facts, config, log_context)
    except engine.GenerationTimeout as exc:
        reason = f"llm deadline {config.generation.timeout_s:g} s passed ({current.name} {current.version})"
        logger.warning("%s: writing a template summary instead (%s)", reason, exc, extra=log_context)
        metrics.record_fallback("deadline")
        title, text = template_summary(facts, note=DEADLINE_NOTE)
        return GeneratedText(title, text, "template", None, {}, fallback_reason=reason)


def summarize(
    analytic_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str] | None = None,
    settings: SummarizeSettings | None = None,
    *,
    config: SummarizeConfig | None = None,
    prompt: PromptTemplate | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> SummaryResult:
    """Summarize one analytic; return where the summary was written and how it was produced.

    ``use_cache=True`` keeps the model loaded for the next call (library use); the CLI passes False.
    """
    started = time.perf_counter()
    settings = settings or SummarizeSettings()
    config = config or load_config()
    prompt = prompt or load_prompt()
    source_path = Path(analytic_path)
    analytic = read_analytic(source_path)
    out_dir = Path(output_dir) if output_dir is not None else settings.storage.summaries
    facts = scene_facts(analytic, config, settings.box_timezone)
    decision = decide_status(facts, config)
    current = resolve_current_llm(Path(models_dir) if models_dir is not None else settings.models_dir)
    log_context = {"video_id": analytic["id"]}

    written_by = _write_text(current, prompt, facts, config, settings, use_cache=use_cache, log_context=log_context)
    title, text, path, rejected, timings = (written_by.title, written_by.summary, written_by.path,
                                            written_by.free_rejected_reason, written_by.timings)
    templated = current is None or path == "template"
    engine_name = "template" if templated else "llama.cpp"
    prompt_version = TEMPLATE_VERSION if templated else prompt.version
    model = None if templated or current is None else {"id": current.name, "version": current.version,
                                                       "sha256": current.sha256}
    timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)

    document = {
        "schema_version": "1.0",
        "id": analytic["id"],
        "source": _source_block(analytic, source_path, settings.storage.root),
        "source_hash": analytic["source_hash"],
        "created_at": utc_timestamp(),
        "engine": engine_name,
        "generation_path": path,
        "model": model,
        "prompt_version": prompt_version,
        "title": title,
        "summary": text,
        "status": decision.status,
        "status_reason": decision.reason,
        "confidence": decision.confidence,
        "labels": facts.label_counts(),
        "timings": timings,
    }
    if written_by.fallback_reason is not None:
        document["fallback_reason"] = written_by.fallback_reason
    people = identities(facts)
    if people is not None:
        document["people"] = people
    validate_schema(document, "summary")
    written = atomic_write_json(out_dir / f"{analytic['id']}.summary.json", document)
    metrics.record_path(path, free_rejected=rejected is not None)
    logger.info("summary written", extra={**log_context, "path": str(written), "generation_path": path,
                                          "status": decision.status})
    return SummaryResult(written, document, path, rejected, metrics.path_counts())
