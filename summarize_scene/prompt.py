"""The external, versioned prompt file and what a model's answer must look like.

Prompt file: a YAML header (``version``, ``free_prefix``, ``stop``) up to a ``---`` line, then a
``string.Template`` body. The version travels into every summary, so a summary can always be
traced to the exact prompt text that produced it.
"""

import json
import os
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from summarize_scene.config import DEFAULT_PROMPT_PATH, ConfigError, GenerationConfig
from summarize_scene.facts import SceneFacts, describe_minutes, describe_objects, describe_people, describe_time

_SEPARATOR = re.compile(r"^---\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    version: str
    body: string.Template
    free_prefix: str
    stop: tuple[str, ...]
    path: Path

    def render(self, facts: SceneFacts) -> str:
        values = {
            "camera": facts.camera or "unknown camera",
            "time": describe_time(facts),
            "duration": f"{facts.duration_s:.0f}",
            "detections": describe_objects(facts),
            "people": describe_people(facts),
            "timeline": describe_minutes(facts),
        }
        try:
            return self.body.substitute(values)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"prompt {self.path}: bad placeholder {exc}") from None

    @property
    def fixed_prefix(self) -> str:
        """The rendered text before the first placeholder: identical in every prompt, so its
        llama.cpp state can be computed once and restored (summarize_scene.prefix_cache)."""
        template = self.body.template
        for match in self.body.pattern.finditer(template):
            if match.group("escaped") is None:
                template = template[: match.start()]
                break
        return template.replace("$$", "$")


def load_prompt(path: str | os.PathLike[str] | None = None) -> PromptTemplate:
    prompt_path = Path(path) if path is not None else DEFAULT_PROMPT_PATH
    try:
        text = prompt_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"prompt file not found: {prompt_path}") from None
    parts = _SEPARATOR.split(text, maxsplit=1)
    if len(parts) != 2:
        raise ConfigError(f"prompt {prompt_path} has no '---' line between header and body")
    try:
        header = yaml.safe_load(parts[0]) or {}
    except yaml.YAMLError:
        raise ConfigError(f"prompt {prompt_path}: header is not valid YAML") from None
    version = header.get("version") if isinstance(header, dict) else None
    if not isinstance(version, str) or not version.strip():
        raise ConfigError(f"prompt {prompt_path}: header needs a 'version'")
    stop = header.get("stop", [])
    return PromptTemplate(
        version=version.strip(), body=string.Template(parts[1].strip("\n").rstrip()),
        free_prefix=str(header.get("free_prefix", "")), stop=tuple(str(s) for s in stop),
        path=prompt_path,
    )


class OutputRejected(ValueError):
    """The model's text is not an acceptable summary (the reason says which rule it broke)."""


# Characters a title or summary may use in the grammar pass. No quote or backslash: the grammar
# then cannot produce a string that needs escaping, and the JSON it yields always parses.
_SAFE_CHARS = r"[A-Za-z0-9 ,.;:!?'()/&%+-]"


def output_schema(required_words: list[str]) -> dict[str, Any]:
    """JSON schema for the grammar pass.

    The title must begin with the required words ("Person fall …", "Nothing …"): a title that
    opens with its subject is what the few-shot examples teach, so the model then ends the string
    naturally. (A pattern that merely *contains* a word lets a small model ramble until it runs out
    of tokens when it does not want to write that word.) Only characters that never need JSON
    escaping are allowed, so the grammar's output always parses.
    """
    opening = " ".join(word.capitalize() if index == 0 else word for index, word in enumerate(required_words))
    title = "^" + re.escape(opening).replace("\\ ", " ") + _SAFE_CHARS + "*$"
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "pattern": title},
            "summary": {"type": "string", "pattern": "^" + _SAFE_CHARS + "+$"},
        },
        "required": ["title", "summary"],
        "additionalProperties": False,
    }


def mentions(text: str, word: str) -> bool:
    """``word`` as a word or with a plural/participle ending (fall, falls, fallen; car but not carry)."""
    return re.search(rf"\b{re.escape(word)}(s|es|en|ing)?\b", text, flags=re.IGNORECASE) is not None


def clip(text: str, limit: int) -> str:
    """Shorten to ``limit`` characters: at the last full sentence if one fits, else at a word + "…"."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    sentence_end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if sentence_end > limit // 3:
        return head[: sentence_end + 1]
    return head[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def close_cut_json(text: str) -> str:
    """Close a grammar-pass object cut off by the token budget inside its last string.

    The grammar's strings never contain quotes or backslashes, so appending the closing quote and
    brace yields the object the model was writing (its last words are kept, then clipped)."""
    return text.rstrip() + '"}'


def parse_output(
    text: str, required_words: list[str], generation: GenerationConfig, forbidden_words: list[str] = (),
    *, clip_lengths: bool = False,
) -> tuple[str, str]:
    """(title, summary) from the model's JSON line, or :class:`OutputRejected` saying why not.

    Required words must appear (as substrings: "fall" in "fallen"); forbidden words (undetected
    objects, the wrong time of day) must not. With ``clip_lengths`` (grammar pass) an over-long
    title or summary is shortened instead of rejected."""
    candidate = text.strip()
    if not candidate.startswith("{"):
        raise OutputRejected("not a JSON object")
    try:
        # The first JSON value only: a base model may run on after the closing brace.
        document, _ = json.JSONDecoder().raw_decode(candidate)
    except json.JSONDecodeError as exc:
        raise OutputRejected(f"invalid JSON ({exc.msg})") from None
    title, summary = document.get("title"), document.get("summary")
    if not isinstance(title, str) or not isinstance(summary, str):
        raise OutputRejected("title and summary must be strings")
    title, summary = " ".join(title.split()), " ".join(summary.split())
    if clip_lengths:
        title, summary = clip(title, generation.title_max_chars), clip(summary, generation.summary_max_chars)
    if not title or len(title) > generation.title_max_chars:
        raise OutputRejected(f"title length {len(title)} outside 1..{generation.title_max_chars}")
    if not summary or len(summary) > generation.summary_max_chars:
        raise OutputRejected(f"summary length {len(summary)} outside 1..{generation.summary_max_chars}")
    text_lower = f"{title} {summary}".lower()
    missing = [word for word in required_words if word.lower() not in text_lower]
    if missing:
        raise OutputRejected(f"does not mention {', '.join(missing)}")
    contradicting = [word for word in forbidden_words if mentions(text_lower, word)]
    if contradicting:
        raise OutputRejected(f"mentions {', '.join(contradicting)}, which the analytic does not support")
    return title, summary
