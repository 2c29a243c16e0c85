"""llama.cpp behind a small interface: a cached, verified model and generation with a deadline.

``llama_cpp`` is imported inside functions so importing this module (and `vv --help`) stays light.
A library caller (the benchmark, a long-lived worker) keeps the model loaded between summaries:
the cache is keyed by path + sha256 + threads + context size, so switching the current model
(``vv model use`` / ``rollback``) loads the new file instead of reusing the old one. The CLI is a
fresh process per summary, so it loads per call.
"""

import atexit
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from vv_core.errors import VVError


class GenerationTimeout(Exception):
    """Generation ran past its wall-clock budget; the stage writes nothing."""


class ModelLoadError(VVError):
    """llama.cpp could not load a (verified) model file."""


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    generated_tokens: int
    generate_ms: float
    finish_reason: str


@dataclass
class LoadedModel:
    llm: Any                      # llama_cpp.Llama
    path: Path
    sha256: str
    load_ms: float                # time llama.cpp took to load it (first use only)


_cache_lock = threading.Lock()
_cached: dict[tuple[str, str, int, int], LoadedModel] = {}


_log_callback: Any = None


def _route_llama_logs() -> None:
    """Send llama.cpp's native log lines to Python logging (DEBUG) instead of stderr.

    Even with verbose=False some lines (e.g. the SWA cache notice) reach stderr, which would break
    the command contract (stderr carries only the one-line error)."""
    global _log_callback
    if _log_callback is not None:
        return
    import ctypes

    import llama_cpp

    native = logging.getLogger("vv.summarize_scene.llama_cpp")

    @llama_cpp.llama_log_callback
    def route(_level: int, text: bytes, _user_data: Any) -> None:
        native.debug(text.decode("utf-8", "replace").rstrip())

    _log_callback = route  # keep a reference: llama.cpp holds only the C pointer
    llama_cpp.llama_log_set(route, ctypes.c_void_p(0))


def gpu_layers() -> int:
    """Offload every layer when this llama.cpp build can use a GPU, none otherwise."""
    import llama_cpp

    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


def load_model(
    path: Path, sha256: str, *, n_threads: int, n_ctx: int, verify: Callable[[], None],
    use_cache: bool = True,
) -> tuple[LoadedModel, bool]:
    """Return (model, reused). ``verify`` runs (and may raise) before any weight is read."""
    key = (str(Path(path).resolve()), sha256, n_threads, n_ctx)
    with _cache_lock:
        if use_cache and key in _cached:
            return _cached[key], True
        verify()
        import llama_cpp

        _route_llama_logs()

        started = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                n_gpu_layers=gpu_layers(), seed=0, verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from None
        loaded = LoadedModel(llm, Path(path), sha256, (time.perf_counter() - started) * 1000)
        if use_cache:
            for old in _cached.values():  # one model resident at a time: RAM on an edge box is finite
                _close(old)
            _cached.clear()
            _cached[key] = loaded
        return loaded, False


def _close(model: LoadedModel) -> None:
    close = getattr(model.llm, "close", None)
    if close is not None:
        close()


def release_model(model: LoadedModel) -> None:
    """Free an uncached model (the CLI path) right away instead of at interpreter exit."""
    with _cache_lock:
        if model not in _cached.values():
            _close(model)


def clear_cache() -> None:
    with _cache_lock:
        for model in _cached.values():
            _close(model)
        _cached.clear()


# Free the cached model while the interpreter is still whole (llama.cpp's own finalizer at
# shutdown runs after its bindings are torn down and prints a TypeError).
atexit.register(clear_cache)


@lru_cache(maxsize=32)
def _grammar(schema_json: str, prop_order: tuple[str, ...]) -> Any:
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return LlamaGrammar.from_string(json_schema_to_gbnf(schema_json, list(prop_order)), verbose=False)


def grammar_for(schema: dict[str, Any]) -> Any:
    """A compiled llama.cpp grammar for a JSON schema (compiled once per distinct schema).

    Properties keep the schema's order (the converter would otherwise sort them, putting
    "summary" before "title", unlike the few-shot examples)."""
    return _grammar(json.dumps(schema, sort_keys=True), tuple(schema.get("properties", {})))


def complete(
    model: LoadedModel, prompt: str, *, max_tokens: int, temperature: float, stop: list[str],
    deadline: float, grammar: Any = None,
) -> Generation:
    """Generate a completion; raise :class:`GenerationTimeout` once ``deadline`` (monotonic) passes.

    The deadline is checked before the call and after every generated token. Prompt evaluation
    itself (bounded by n_ctx) is not interrupted: llama.cpp's abort callback would cost a Python
    call per graph node, i.e. a double-digit share of the generation time."""
    from llama_cpp import StoppingCriteriaList

    timed_out = False

    def past_deadline(_tokens: Any, _logits: Any) -> bool:
        nonlocal timed_out
        timed_out = time.monotonic() > deadline
        return timed_out

    if time.monotonic() > deadline:
        raise GenerationTimeout("generation deadline passed before it started")
    started = time.perf_counter()
    result = model.llm.create_completion(
        prompt, max_tokens=max_tokens, temperature=temperature, top_k=1 if temperature == 0 else 40,
        stop=stop, grammar=grammar, seed=0, stopping_criteria=StoppingCriteriaList([past_deadline]),
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    if timed_out:
        raise GenerationTimeout(f"generation passed its deadline after {elapsed_ms / 1000:.1f} s")
    choice = result["choices"][0]
    usage = result.get("usage", {})
    return Generation(
        text=choice["text"], prompt_tokens=int(usage.get("prompt_tokens", 0)),
        generated_tokens=int(usage.get("completion_tokens", 0)), generate_ms=elapsed_ms,
        finish_reason=str(choice.get("finish_reason")),
    )
