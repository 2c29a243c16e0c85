"""The LLM path with the real Gemma 3 270M GGUF: it re-ranks only among the catalogue's matched causes."""

import time

import pytest

from ops.diagnosis.catalogue import Thresholds
from ops.diagnosis.evidence import Evidence
from ops.diagnosis.ranking import diagnose
from tests.summarize_scene.conftest import TEST_MODEL, cached_gguf, link_into, manifest  # noqa: F401 (fixtures)
from vv_core.models import use_model

LIMITS = Thresholds(disk_full_percent=100.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm_models_dir(tmp_path_factory, manifest, cached_gguf):  # noqa: F811 (the imported fixtures)
    models_dir = tmp_path_factory.mktemp("diagnose-llm")
    link_into(models_dir, manifest, *TEST_MODEL, cached_gguf)
    use_model(models_dir, manifest.find(*TEST_MODEL))
    return models_dir


def test_the_llm_answers_with_a_candidate_id_and_an_explanation(llm_models_dir):
    evidence = Evidence(now=1000.0, status_error="http://127.0.0.1:8000/status: connection refused",
                        key_store_error="key store not found: secrets/keys.json")
    started = time.monotonic()
    found = diagnose(evidence, LIMITS, models_dir=llm_models_dir, use_llm=True)
    print(f"LLM diagnosis in {time.monotonic() - started:.1f} s: {found.top}: {found.explanation}")
    assert found.llm_top in {"key_store_unreadable", "tv_api_down"}, found.llm_note
    assert found.llm_explanation
    assert found.path == "rules" and found.top == "key_store_unreadable"   # advisory: the rule ranking stands
    assert {c.fault for c in found.causes} == {"key_store_unreadable", "tv_api_down"}
    assert found.explanation


def test_an_unusable_model_leaves_the_rule_based_answer(tmp_path):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    found = diagnose(Evidence(now=1000.0, key_store_error="key store not found",
                              status_error="http://127.0.0.1:8000/status: connection refused"), LIMITS,
                     models_dir=models_dir, use_llm=True)   # two causes: the LLM is asked (one has nothing to rank)
    assert found.path == "rules" and found.top == "key_store_unreadable"
    assert found.llm_note.startswith("LLM unavailable: no llm model installed")


def test_the_real_llm_on_sqlite_locked_and_stage_hung_cannot_stop_wait_for_db(llm_models_dir, tmp_path):
    from ops.diagnosis.drills import run_drill

    limits = Thresholds(disk_full_percent=95.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)
    result = run_drill("sqlite_locked+stage_hung", limits, llm_models_dir=llm_models_dir, base=tmp_path)
    print(f"the real LLM named {result.llm_diagnosed} first; the box did {result.actions}")
    assert result.llm_diagnosed in {"sqlite_locked", "stage_hung"}   # it answered, whichever it picked
    assert result.diagnosed == "sqlite_locked" and result.actions[0] == "wait_for_db: applied"
    assert result.healthy_after and result.passed
