"""summarize() with the real Gemma 3 270M GGUF through llama.cpp, and the template mode."""

import json

import pytest

from summarize_scene import engine, metrics
from summarize_scene.config import SummarizeConfig, load_config
from summarize_scene.pipeline import TEMPLATE_VERSION, AnalyticError, GenerationFailed, summarize
from tests.summarize_scene.conftest import (
    PEOPLE,
    TEST_MODEL,
    corrupt_in_place_safely,
    detection,
    make_analytic,
    write_analytic,
)
from vv_core.errors import SchemaValidationError
from vv_core.models import ModelIntegrityError
from vv_core.schema import validate_schema

pytestmark = pytest.mark.slow


def config_with(**generation):
    base = load_config()
    return SummarizeConfig.model_validate({**base.model_dump(), "generation": {**base.generation.model_dump(),
                                                                              **generation}})


def written(result):
    document = json.loads(result.path.read_text())
    validate_schema(document, "summary")
    assert document == result.document
    return document


def test_person_analytic_gets_a_schema_valid_summary_naming_the_person(settings, storage_root, shared_models_dir,
                                                                       manifest):
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    result = summarize(analytic, None, settings, models_dir=shared_models_dir)
    document = written(result)
    assert result.path == storage_root / "summaries" / "cam1_20261121T101500Z.summary.json"
    assert "person" in f"{document['title']} {document['summary']}".lower()
    entry = manifest.find(*TEST_MODEL)
    assert document["engine"] == "llama.cpp"
    assert document["model"] == {"id": entry.name, "version": entry.version, "sha256": entry.sha256}
    assert document["prompt_version"] == "scene_summarizer/1.1.0"
    assert (document["status"], document["labels"]) == ("confirmado", {"person": 4, "face": 1})
    assert document["source"]["analytic"] == "analytic/cam1_20261121T101500Z.analytic.json"
    assert document["source_hash"] == make_analytic()["source_hash"]
    timings = document["timings"]
    assert timings["prompt_tokens"] > 50 and timings["generated_tokens"] > 5 and timings["tokens_per_s"] > 0
    assert document["generation_path"] in ("free", "grammar")
    assert result.path_counts[document["generation_path"]] >= 1


def test_library_use_keeps_the_model_loaded_between_calls(settings, storage_root, shared_models_dir):
    first = summarize(write_analytic(storage_root, make_analytic("a_1", detections=PEOPLE)), None, settings,
                      models_dir=shared_models_dir)
    second = summarize(write_analytic(storage_root, make_analytic("a_2", detections=PEOPLE)), None, settings,
                       models_dir=shared_models_dir)
    assert first.document["timings"]["load_ms"] >= 0
    assert second.document["timings"]["load_ms"] == 0.0   # reused: neither hashed nor loaded again
    assert (first.document["title"], first.document["summary"]) == \
        (second.document["title"], second.document["summary"])  # greedy: same facts, same words


def test_grammar_fallback_runs_for_real_and_names_a_fall(settings, storage_root, shared_models_dir):
    # Three free tokens cannot hold a JSON object: the parse fails and the grammar pass must deliver.
    before = metrics.path_counts()["grammar"]
    analytic = write_analytic(storage_root, make_analytic(
        detections=[detection("Normal", 0.9, t) for t in (1.0, 2.0)] + [detection("Fall", 0.86, 3.0)]))
    result = summarize(analytic, None, settings, models_dir=shared_models_dir,
                       config=config_with(free={"max_tokens": 3}))
    document = written(result)
    assert document["generation_path"] == "grammar" and result.generation_path == "grammar"
    assert result.free_rejected_reason is not None
    assert document["title"].startswith("Person fall")     # the grammar makes the title open with them
    assert (document["status"], document["status_reason"]) == ("alerta", "a fall was detected")
    assert document["labels"] == {"Normal": 2, "Fall": 1}
    assert document["timings"]["generated_tokens"] > 3
    assert metrics.path_counts()["grammar"] == before + 1


def test_grammar_output_cut_by_the_token_budget_is_salvaged_or_refused(settings, storage_root,
                                                                        shared_models_dir):
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    # Cut inside the summary string: closed and kept (the model's own words, clipped).
    salvaged = written(summarize(analytic, None, settings, models_dir=shared_models_dir,
                                 config=config_with(free={"max_tokens": 3}, grammar={"max_tokens": 18})))
    assert salvaged["generation_path"] == "grammar"
    assert salvaged["title"].startswith("Person") and salvaged["summary"]
    # Cut before the summary exists: nothing acceptable, nothing written.
    (storage_root / "summaries" / f"{salvaged['id']}.summary.json").unlink()
    with pytest.raises(GenerationFailed, match="rejected even with the grammar"):
        summarize(analytic, None, settings, models_dir=shared_models_dir,
                  config=config_with(free={"max_tokens": 3}, grammar={"max_tokens": 6}))
    assert list((storage_root / "summaries").iterdir()) == []


def test_empty_detections_give_a_valid_nothing_detected_summary(settings, storage_root, shared_models_dir):
    analytic = write_analytic(storage_root, make_analytic(detections=[]))
    document = written(summarize(analytic, None, settings, models_dir=shared_models_dir))
    assert document["labels"] == {} and document["status"] == "experimental"
    assert document["engine"] == "llama.cpp" and document["summary"]


def test_a_missed_generation_deadline_writes_a_labelled_template_summary(settings, storage_root, shared_models_dir,
                                                                         caplog):
    """A slow (loaded) box: the real model cannot meet its deadline, so the template is written,
    labelled with why, counted and logged; the status is the rules' as ever (alerts stay exact)."""
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE, recorded_at="2026-11-21T02:00:00Z"))
    before, paths_before = metrics.fallback_counts()["deadline"], metrics.path_counts()["template"]
    with caplog.at_level("WARNING", logger="vv.summarize_scene"):
        result = summarize(analytic, None, settings, models_dir=shared_models_dir,
                           config=config_with(timeout_s=0.001))
    document = written(result)
    assert (document["engine"], document["generation_path"], document["model"]) == ("template", "template", None)
    assert document["fallback_reason"] == f"llm deadline 0.001 s passed ({TEST_MODEL[0]} {TEST_MODEL[1]})"
    assert document["prompt_version"] == TEMPLATE_VERSION
    assert document["title"] == "Person detected at cam1"
    assert "did not answer in time" in document["summary"] and "no language model" not in document["summary"]
    assert (document["status"], document["status_reason"]) == ("alerta", "a person was detected at night")
    assert metrics.fallback_counts()["deadline"] == before + 1
    assert metrics.path_counts()["template"] == paths_before + 1
    assert any("llm deadline 0.001 s passed" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    # The deadline is a property of one run: with time enough, the model writes it again.
    again = written(summarize(analytic, None, settings, models_dir=shared_models_dir))
    assert again["engine"] == "llama.cpp" and "fallback_reason" not in again


def test_no_model_installed_writes_a_labelled_template_summary(settings, storage_root, empty_models_dir):
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE, recorded_at="2026-11-21T02:00:00Z"))
    result = summarize(analytic, None, settings, models_dir=empty_models_dir)
    document = written(result)
    assert (document["engine"], document["generation_path"], document["model"]) == ("template", "template", None)
    assert document["prompt_version"] == TEMPLATE_VERSION
    assert document["title"] == "Person detected at cam1"
    assert "person x4" in document["summary"] and "no language model is installed" in document["summary"]
    assert document["status"] == "alerta"


def test_template_for_an_empty_scene_says_nothing_was_detected(settings, storage_root, empty_models_dir):
    analytic = write_analytic(storage_root, make_analytic(detections=[], camera=None))
    document = written(summarize(analytic, None, settings, models_dir=empty_models_dir))
    assert document["title"] == "Nothing detected at the camera"


def test_pointer_to_a_missing_file_degrades_to_the_template(settings, storage_root, models_dir, manifest):
    manifest.find(*TEST_MODEL).install_path(models_dir).unlink()
    document = written(summarize(write_analytic(storage_root, make_analytic(detections=PEOPLE)), None, settings,
                                 models_dir=models_dir))
    assert document["engine"] == "template"


def test_corrupted_model_is_refused_before_llama_cpp_reads_it(settings, storage_root, models_dir, manifest,
                                                              monkeypatch):
    import llama_cpp

    corrupt_in_place_safely(manifest.find(*TEST_MODEL).install_path(models_dir))
    loads = []
    monkeypatch.setattr(llama_cpp, "Llama", lambda *a, **k: loads.append(a) or pytest.fail("loaded"))
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    with pytest.raises(ModelIntegrityError, match="fails its sha256 check"):
        summarize(analytic, None, settings, models_dir=models_dir, use_cache=False)
    assert loads == [] and not (storage_root / "summaries").exists()


def test_malformed_and_schema_invalid_analytics_are_refused(settings, storage_root, empty_models_dir):
    broken = storage_root / "analytic" / "broken.analytic.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"id": "x",\n "source": ')
    with pytest.raises(AnalyticError, match="not valid JSON"):
        summarize(broken, None, settings, models_dir=empty_models_dir)
    invalid = make_analytic()
    del invalid["source_hash"]
    with pytest.raises(SchemaValidationError, match="source_hash"):
        summarize(write_analytic(storage_root, invalid), None, settings, models_dir=empty_models_dir)
    with pytest.raises(AnalyticError, match="not found"):
        summarize(storage_root / "missing.json", None, settings, models_dir=empty_models_dir)
    assert not (storage_root / "summaries").exists()


def test_rollback_switches_which_version_summarizes(settings, storage_root, models_dir, manifest):
    from ops.provisioning.models import rollback, use

    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    use(models_dir, "gemma3-270m", "q4_k_m-1.0.0-relabel")
    newer = written(summarize(analytic, None, settings, models_dir=models_dir))
    rollback(models_dir)
    older = written(summarize(analytic, None, settings, models_dir=models_dir))
    assert (newer["model"]["version"], older["model"]["version"]) == ("q4_k_m-1.0.0-relabel", "q4_k_m-1.0.0")
    assert older["timings"]["load_ms"] > 0  # another path: loaded (and verified) again, not reused
    engine.clear_cache()
