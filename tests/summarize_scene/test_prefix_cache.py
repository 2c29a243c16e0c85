"""The saved prompt-prefix state and the background model load, with the real Gemma 3 270M GGUF."""

import json
import logging
import os
import string
from pathlib import Path

import pytest

from summarize_scene import engine, prefix_cache
from summarize_scene.config import load_config
from summarize_scene.facts import scene_facts
from summarize_scene.llm_model import resolve_current_llm
from summarize_scene.pipeline import summarize
from summarize_scene.prompt import PromptTemplate, load_prompt
from tests.summarize_scene.conftest import PEOPLE, TEST_MODEL, corrupt_in_place_safely, make_analytic, write_analytic
from vv_core.models import ModelIntegrityError

pytestmark = pytest.mark.slow


def template(body: str) -> PromptTemplate:
    return PromptTemplate("t/1", string.Template(body), "", (), Path("t.prompt"))


@pytest.mark.parametrize(("body", "prefix"), [
    ("Reports.\nCamera: $camera. Time: $time.", "Reports.\nCamera: "),
    ("Costs $$5 each. Camera: ${camera}", "Costs $5 each. Camera: "),
    ("$camera first", ""),
    ("no placeholders at all", "no placeholders at all"),
])
def test_fixed_prefix_is_the_text_before_the_first_placeholder(body, prefix):
    assert template(body).fixed_prefix == prefix


def test_the_shipped_prompt_renders_after_its_fixed_prefix():
    prompt = load_prompt()
    assert len(prompt.fixed_prefix) > 500  # the instructions and every few-shot example
    rendered = prompt.render(scene_facts(make_analytic(detections=PEOPLE), load_config()))
    assert rendered.startswith(prompt.fixed_prefix) and len(rendered) > len(prompt.fixed_prefix)


def cache_files(settings) -> list[Path]:
    return sorted(prefix_cache.default_directory(settings.storage.state).glob("*.kv"))


def fresh_summary(settings, storage_root, models_dir, video_id="cam1_20261121T101500Z"):
    """One summary from a freshly loaded model, as a CLI process makes it."""
    analytic = write_analytic(storage_root, make_analytic(video_id, detections=PEOPLE))
    return summarize(analytic, None, settings, models_dir=models_dir, use_cache=False).document


def words(document):
    return document["title"], document["summary"]


def test_restored_prefix_gives_the_summary_a_full_evaluation_gives(settings, storage_root, shared_models_dir,
                                                                   monkeypatch):
    built = fresh_summary(settings, storage_root, shared_models_dir, "a_1")
    assert built["timings"]["prompt_tokens_restored"] == 0
    [saved] = cache_files(settings)
    assert saved.stat().st_mode & 0o777 == 0o600

    restored = fresh_summary(settings, storage_root, shared_models_dir, "a_2")
    assert restored["timings"]["prompt_tokens_restored"] > 300  # the instructions and examples
    assert restored["timings"]["prompt_tokens"] > restored["timings"]["prompt_tokens_restored"]

    with monkeypatch.context() as patched:  # no prefix state at all: the whole prompt in one go
        patched.setattr(prefix_cache, "prime", lambda *a, **k: prefix_cache.PrefixOutcome("off", 0))
        plain = fresh_summary(settings, storage_root, shared_models_dir, "a_3")
    assert words(built) == words(restored) == words(plain)


@pytest.mark.parametrize("damage", ["flip_payload_byte", "truncate", "other_key", "not_a_cache_file"])
def test_a_damaged_or_foreign_cache_file_is_rebuilt_never_trusted(settings, storage_root, shared_models_dir,
                                                                  caplog, damage):
    reference = fresh_summary(settings, storage_root, shared_models_dir, "b_1")
    [saved] = cache_files(settings)
    raw = bytearray(saved.read_bytes())
    if damage == "flip_payload_byte":
        raw[-1000] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "other_key":
        header_end = raw.index(b"\n", len(prefix_cache.MAGIC))
        header = json.loads(raw[len(prefix_cache.MAGIC):header_end])
        header["key"] = "0" * 64
        raw = raw[: len(prefix_cache.MAGIC)] + json.dumps(header).encode() + raw[header_end:]
    else:
        raw = bytearray(b"GGUF something else entirely")
    saved.write_bytes(bytes(raw))

    with caplog.at_level(logging.WARNING, logger="vv.summarize_scene"):
        rebuilt = fresh_summary(settings, storage_root, shared_models_dir, "b_2")
    assert "prompt prefix cache unusable" in caplog.text
    assert rebuilt["timings"]["prompt_tokens_restored"] == 0
    assert words(rebuilt) == words(reference)
    # Rewritten whole: the next process restores it again.
    assert fresh_summary(settings, storage_root, shared_models_dir, "b_3")["timings"]["prompt_tokens_restored"] > 300


def test_an_unwritable_cache_costs_speed_not_the_summary(settings, storage_root, shared_models_dir, caplog):
    (storage_root / "state").rmdir()   # the fixture's storage tree has an empty state/: replace it by a file
    (storage_root / "state").write_text("a file where the state directory should be")
    with caplog.at_level(logging.WARNING, logger="vv.summarize_scene"):
        document = fresh_summary(settings, storage_root, shared_models_dir)
    assert "prompt prefix cache not written" in caplog.text
    assert document["engine"] == "llama.cpp" and "person" in " ".join(words(document)).lower()


def test_old_cache_files_are_pruned(settings, storage_root, shared_models_dir):
    directory = prefix_cache.default_directory(settings.storage.state)
    directory.mkdir(parents=True)
    for age in range(6):
        old = directory / f"{age:064d}.kv"
        old.write_bytes(b"stale")
        os.utime(old, (1_000_000 + age, 1_000_000 + age))
    fresh_summary(settings, storage_root, shared_models_dir)
    kept = cache_files(settings)
    assert len(kept) == prefix_cache.KEEP_FILES
    assert directory / f"{5:064d}.kv" in kept and directory / f"{0:064d}.kv" not in kept


def current(models_dir):
    return resolve_current_llm(models_dir)


def test_background_load_is_a_fresh_load_then_reused(settings, shared_models_dir):
    engine.clear_cache()
    model = current(shared_models_dir)
    options = {"n_threads": 1, "n_ctx": load_config().generation.n_ctx}
    engine.preload(model.path, model.sha256, verify=model.verify, **options)
    engine.preload(model.path, model.sha256, verify=model.verify, **options)  # already under way: no-op
    first, reused_first = engine.load_model(model.path, model.sha256, verify=model.verify, **options)
    second, reused_second = engine.load_model(model.path, model.sha256, verify=model.verify, **options)
    assert (reused_first, reused_second) == (False, True) and first is second
    assert first.setup_ms >= first.load_ms > 0
    engine.clear_cache()


def test_background_load_of_a_corrupted_model_fails_where_the_load_is_used(models_dir, manifest, monkeypatch):
    import llama_cpp

    engine.clear_cache()
    corrupt_in_place_safely(manifest.find(*TEST_MODEL).install_path(models_dir))
    monkeypatch.setattr(llama_cpp, "Llama", lambda *a, **k: pytest.fail("llama.cpp read an unverified file"))
    model = current(models_dir)
    options = {"n_threads": 1, "n_ctx": 256}
    engine.preload(model.path, model.sha256, verify=model.verify, **options)  # does not raise here
    with pytest.raises(ModelIntegrityError, match="fails its sha256 check"):
        engine.load_model(model.path, model.sha256, verify=model.verify, **options)
    engine.clear_cache()
