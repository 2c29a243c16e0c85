"""llama.cpp behind a small interface: a cached, verified model and generation with a deadline.

``llama_cpp`` is imported inside functions so importing this module (and `vv --help`) stays light.
A library caller (the benchmark, a long-lived worker) keeps the model loaded between summaries:
the cache is keyed by path + sha256 + threads + context size, so switching the current model
(``vv model use`` / ``rollback``) loads the new file instead of reusing the old one. The CLI is a
fresh process per summary: it starts the load in the background first (:func:`preload`), so
verification and llama.cpp's load overlap its own imports and input checks.
"""

import atexit
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from vv_core.models import open_llm


class GenerationTimeout(Exception):
    """Generation ran past its wall-clock budget; the stage writes nothing."""


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
    load_ms: float                # time llama.cpp took to load it
    setup_ms: float = 0.0         # verification + import + load, wall time
    uses: int = 0                 # summaries that used it (0: loaded, not yet used)


_cache_lock = threading.Lock()
_cached: dict[tuple[str, str, int, int], LoadedModel] = {}
_preloading: dict[tuple[str, str, int, int], Future[LoadedModel]] = {}


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


def _key(path: Path, sha256: str, n_threads: int, n_ctx: int) -> tuple[str, str, int, int]:
    return (str(Path(path).resolve()), sha256, n_threads, n_ctx)


def preload(path: Path, sha256: str, *, n_threads: int, n_ctx: int, verify: Callable[[], None]) -> None:
    """Start verifying and loading a model in a background thread.

    A cold CLI process starts this first and does its own imports and input checks meanwhile
    (llama.cpp's load runs in C without the GIL, so the second core does it). The next
    :func:`load_model` for the same model waits for it, re-raises its error in the caller's flow,
    and counts it as a fresh load."""
    key = _key(path, sha256, n_threads, n_ctx)
    with _cache_lock:
        if key in _cached or key in _preloading:
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preload")
        _preloading[key] = pool.submit(_load_into_cache, key, Path(path), sha256, n_threads, n_ctx, verify)
        pool.shutdown(wait=False)


def load_model(
    path: Path, sha256: str, *, n_threads: int, n_ctx: int, verify: Callable[[], None],
    use_cache: bool = True,
) -> tuple[LoadedModel, bool]:
    """Return (model, reused). ``verify`` runs (and may raise) before any weight is read."""
    key = _key(path, sha256, n_threads, n_ctx)
    pending = _preloading.pop(key, None)
    if pending is not None:
        pending.result()  # its verification or load error surfaces here
    if use_cache:
        with _cache_lock:
            model = _cached.get(key)
            if model is not None:
                model.uses += 1
                return model, model.uses > 1
        model = _load_into_cache(key, Path(path), sha256, n_threads, n_ctx, verify)
    else:
        model = _load(Path(path), sha256, n_threads, n_ctx, verify)
    model.uses += 1
    return model, False


def _load_into_cache(
    key: tuple[str, str, int, int], path: Path, sha256: str, n_threads: int, n_ctx: int,
    verify: Callable[[], None],
) -> LoadedModel:
    with _cache_lock:  # one load at a time; one model resident at a time (RAM is finite)
        if key in _cached:
            return _cached[key]
        loaded = _load(path, sha256, n_threads, n_ctx, verify)
        for old in _cached.values():
            _close(old)
        _cached.clear()
        _cached[key] = loaded
        return loaded


def _load(path: Path, sha256: str, n_threads: int, n_ctx: int, verify: Callable[[], None]) -> LoadedModel:
    started = time.perf_counter()
    # Hash the file (C code, GIL released) while Python imports llama_cpp: both are needed before
    # the load and a cold process has two cores. No weight is read before verify passes.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify") as pool:
        verified = pool.submit(verify)
        _route_llama_logs()   # imports llama_cpp
        verified.result()

    loading = time.perf_counter()
    llm = open_llm(path, n_ctx=n_ctx, n_threads=n_threads)
    done = time.perf_counter()
    return LoadedModel(llm, path, sha256, load_ms=(done - loading) * 1000, setup_ms=(done - started) * 1000)


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
    for pending in list(_preloading.values()):  # a load still running ends in the cache, then goes
        pending.exception()
    _preloading.clear()
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
