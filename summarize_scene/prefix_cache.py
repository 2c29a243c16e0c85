"""The prompt's fixed opening, evaluated once and kept on disk as llama.cpp state.

Every summary's prompt starts with the same ~380 tokens (instructions and few-shot examples); only
the last ~60 describe the scene. A fresh CLI process would spend most of its generation time
re-evaluating that opening (measured: 1.6 s of 2.3 s for a 436-token prompt). Instead the state
after the opening (its KV cache, ~7 MB) is saved next to the other state files and restored into
each new process; llama-cpp-python then evaluates only the tokens after the common prefix. This is
the idea of llama.cpp's ``--prompt-cache``, done through the public state API without the
library's ``save_state``/``load_state`` (they copy n_tokens x vocab float scores: ~400 MB here).

The file is keyed by everything its bytes depend on (model sha256, llama-cpp-python version,
context size, the prefix text), carries the sha256 of its payload, and is written atomically. A
missing, stale or damaged file is rebuilt, never trusted: the cost of a bad cache is one slower
summary, not a wrong one.
"""

import ctypes
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vv_core.atomic import atomic_write_bytes

logger = logging.getLogger("vv.summarize_scene")

MAGIC = b"VVKV1\n"
KEEP_FILES = 4            # a few prompt/model versions side by side; older files are pruned


class PrefixCacheError(Exception):
    """A cache file that cannot be used (the reason says why); it is rebuilt."""


@dataclass(frozen=True)
class PrefixOutcome:
    source: str           # restored | built | off
    tokens: int           # prefix tokens now in the model's context


def cache_key(model_sha256: str, n_ctx: int, prefix: str) -> str:
    import llama_cpp

    material = json.dumps({"format": 1, "model": model_sha256, "llama_cpp": llama_cpp.__version__,
                           "n_ctx": n_ctx, "prefix": prefix}, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _read(path: Path, key: str) -> tuple[list[int], bytes]:
    raw = path.read_bytes()
    if not raw.startswith(MAGIC):
        raise PrefixCacheError("not a prefix-cache file")
    header_end = raw.find(b"\n", len(MAGIC))
    try:
        header = json.loads(raw[len(MAGIC):header_end])
        tokens, digest, size = header["tokens"], header["payload_sha256"], header["payload_size"]
    except (ValueError, KeyError, TypeError):
        raise PrefixCacheError("unreadable header") from None
    if header.get("key") != key:
        raise PrefixCacheError("made for another model, prompt or llama.cpp version")
    payload = raw[header_end + 1:]
    if len(payload) != size or hashlib.sha256(payload).hexdigest() != digest:
        raise PrefixCacheError("payload damaged (size or sha256 mismatch)")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, int) for t in tokens):
        raise PrefixCacheError("bad token list")
    return tokens, payload


def _restore(llm: Any, tokens: list[int], payload: bytes) -> None:
    import llama_cpp

    if len(tokens) >= llm.n_ctx():
        raise PrefixCacheError("prefix does not fit the context")
    buffer = (ctypes.c_uint8 * len(payload)).from_buffer_copy(payload)
    if llama_cpp.llama_state_set_data(llm.ctx, buffer, len(payload)) != len(payload):
        raise PrefixCacheError("llama.cpp refused the state")
    # What Llama.eval would have recorded: the tokens the context now holds. The next
    # create_completion reuses their longest common prefix with its prompt.
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)


def _build(llm: Any, prefix: str, key: str, path: Path | None) -> int:
    import llama_cpp

    # Tokenized as create_completion tokenizes a prompt: BOS + text with special tokens parsed.
    tokens = llm.tokenize(prefix.encode("utf-8"), add_bos=True, special=True)
    llm.eval(tokens)
    if path is None:
        return len(tokens)
    size = llama_cpp.llama_state_get_size(llm.ctx)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_get_data(llm.ctx, buffer, size)
    payload = bytes(buffer)[:written]
    header = json.dumps({"key": key, "tokens": tokens, "payload_sha256": hashlib.sha256(payload).hexdigest(),
                         "payload_size": len(payload)}, separators=(",", ":")).encode("utf-8")
    try:
        atomic_write_bytes(path, MAGIC + header + b"\n" + payload, mode=0o600)
        _prune(path.parent, keep=path)
    except OSError as exc:  # a read-only or full disk costs speed, never the summary
        logger.warning("prompt prefix cache not written: %s", exc.strerror, extra={"path": str(path)})
    return len(tokens)


def _prune(directory: Path, keep: Path) -> None:
    files = sorted((p for p in directory.glob("*.kv") if p != keep), key=lambda p: p.stat().st_mtime,
                   reverse=True)
    for old in files[KEEP_FILES - 1:]:
        old.unlink(missing_ok=True)


def prime(llm: Any, prefix: str, *, model_sha256: str, n_ctx: int, directory: Path | None) -> PrefixOutcome:
    """Put the prompt's fixed opening into a freshly loaded model: restored from ``directory`` when
    a valid file is there, otherwise evaluated (and saved when ``directory`` is given)."""
    if not prefix or llm.n_tokens:
        return PrefixOutcome("off", 0)
    key = cache_key(model_sha256, n_ctx, prefix)
    path = Path(directory) / f"{key}.kv" if directory is not None else None
    if path is not None and path.is_file():
        try:
            tokens, payload = _read(path, key)
            _restore(llm, tokens, payload)
            return PrefixOutcome("restored", len(tokens))
        except (OSError, PrefixCacheError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            logger.warning("prompt prefix cache unusable (%s); rebuilding it", reason, extra={"path": str(path)})
            _reset(llm)
    return PrefixOutcome("built", _build(llm, prefix, key, path))


def _reset(llm: Any) -> None:
    """Forget any partially restored state before evaluating from scratch."""
    import llama_cpp

    llm.reset()
    memory = llama_cpp.llama_get_memory(llm.ctx)
    if memory is not None:
        llama_cpp.llama_memory_clear(memory, True)


def default_directory(state_dir: str | os.PathLike[str]) -> Path:
    return Path(state_dir) / "prompt-cache"
