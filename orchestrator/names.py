"""Names found in input/, made safe for everything after discovery.

Linux allows any bytes but "/" and NUL in a name, up to 255 bytes. The rest of the pipeline needs
less: the state DB, the JSON records and the LogLines hold UTF-8 text; ``<name>.<hash>`` and
``<name>.error.json`` (plus an atomic writer's ``.<name>.<random>.tmp``) must still fit in 255
bytes; a terminal or a log must not be fooled by control characters; a leading "-" must never be
read as an option. So a name is kept only when it is valid UTF-8, has no control or invisible
formatting characters (newlines, bidi overrides …), does not start with "-" and has at most
:data:`MAX_NAME_BYTES` bytes. Any other name is replaced at claim time by a sanitised, capped name
plus a short hash of the original name and content (:func:`safe_name`), and the original is kept
as :func:`printable` text in the state DB and the error record.

Shell metacharacters (``$ ; | & ` ' "`` …) and spaces are kept: no shell ever sees a name (every
subprocess gets an argument list with absolute paths), and renaming them would surprise operators.
"""

import hashlib
import unicodedata
from pathlib import PurePosixPath

# Room left for what the pipeline appends: ".<sha12>-<n>" (17) + ".error.json" (11) + an atomic
# temp file's "." + ".XXXXXXXX.tmp" (14), with margin, under the 255-byte limit of a name.
MAX_NAME_BYTES = 160
HASH_CHARS = 10
_MAX_SUFFIX_CHARS = 10
# Unicode categories never kept in a name: controls (newline, ESC …), format characters (bidi
# overrides, zero-width joiners), lone surrogates (undecodable bytes), line/paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _unsafe_char(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def raw_bytes(text: str) -> bytes:
    """The name as the filesystem holds it (Python maps undecodable bytes to lone surrogates)."""
    return text.encode("utf-8", "surrogateescape")


def is_safe_name(name: str) -> bool:
    """True when ``name`` can go through the pipeline unchanged."""
    if not name or name.startswith("-") or any(_unsafe_char(c) for c in name):
        return False
    return len(raw_bytes(name)) <= MAX_NAME_BYTES


def printable(text: str) -> str:
    """Bytes-safe, unambiguous text for a file name or path (state DB, records, logs, `vv status`).

    Valid printable UTF-8 stays as it is; an undecodable byte becomes ``\\xNN``, a control or
    formatting character ``\\xNN``/``\\uNNNN``, and a backslash ``\\\\`` (Python string-literal
    escapes), so different names never print the same.
    """
    out = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:        # an undecodable byte, via surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif _unsafe_char(char):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _cap(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def safe_name(name: str, salt: str = "") -> str:
    """``name`` unchanged when safe, else ``<sanitised stem>-<hash>[.<suffix>]`` (≤ MAX_NAME_BYTES).

    The hash covers the original bytes and ``salt`` (the content's sha256), so two different files
    never get the same safe name, and the same file always does (a crashed rename is redone alike).
    """
    if is_safe_name(name):
        return name
    tag = hashlib.sha256(raw_bytes(name) + salt.encode()).hexdigest()[:HASH_CHARS]
    cleaned = "".join("_" if _unsafe_char(c) else c for c in name)
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not stem or len(suffix) > _MAX_SUFFIX_CHARS or not suffix.isalnum() or not suffix.isascii():
        stem, suffix = cleaned, ""
    stem = stem.lstrip("-.") or "video"
    ending = f"-{tag}" + (f".{suffix}" if suffix else "")
    return _cap(stem, MAX_NAME_BYTES - len(ending)) + ending


def safe_relative(relative: str, salt: str = "") -> str:
    """A storage-relative path with every component made safe (see :func:`safe_name`)."""
    parts = PurePosixPath(relative).parts
    return PurePosixPath(*(safe_name(part, salt if i == len(parts) - 1 else "")
                           for i, part in enumerate(parts))).as_posix()
