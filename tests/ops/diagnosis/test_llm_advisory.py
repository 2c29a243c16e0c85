"""The LLM only advises: remediation follows the rule ranking whatever the model picks.

The model's answer is injected at ranking.ask_llm (the one call into llama.cpp); everything around it
(the grammar's candidate list, accepting the answer, the ranking, the drill's rounds of
`vv diagnose --fix --apply` on real files and a real SQLite lock) is the real code path.
"""

import json

import pytest

from ops.diagnosis import ranking
from ops.diagnosis.catalogue import Thresholds
from ops.diagnosis.drills import DrillResult, confusion_table, drill_summary, run_drill
from ops.diagnosis.evidence import Evidence
from ops.diagnosis.ranking import diagnose
from ops.diagnosis.run import render_table

LIMITS = Thresholds(disk_full_percent=95.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)


@pytest.fixture
def llm_picks(monkeypatch, tmp_path):
    """Make the "installed LLM" answer with ``pick``; returns the candidate lists it was asked about."""
    asked: list[list[str]] = []

    def install(pick: str) -> list[list[str]]:
        def answer(_models_dir, causes, **_kwargs):
            asked.append([c.fault for c in causes])
            return json.dumps({"cause": pick, "explanation": f"the LLM thinks it is {pick}"})
        monkeypatch.setattr(ranking, "ask_llm", answer)
        return asked
    return install


def test_a_disagreeing_llm_does_not_keep_wait_for_db_from_running(llm_picks, tmp_path):
    asked = llm_picks("stage_hung")   # what the real gemma3-270m answers on this drill
    result = run_drill("sqlite_locked+stage_hung", LIMITS, llm_models_dir=tmp_path / "models", base=tmp_path)
    assert asked and set(asked[0]) >= {"sqlite_locked", "stage_hung"}   # the LLM was asked, and answered
    assert result.actions[0] == "wait_for_db: applied"          # the lock was waited out by the box itself
    assert result.diagnosed == "sqlite_locked" and result.rank == 1 and result.llm_diagnosed == "stage_hung"
    assert result.healthy_after and result.media_lost == 0 and result.harmful_actions == 0 and result.passed


def test_the_operator_sees_the_llms_view_and_that_actions_follow_the_rules(llm_picks, tmp_path):
    llm_picks("tv_api_down")
    evidence = Evidence(now=1000.0, status_error="http://127.0.0.1:8000/status: connection refused",
                        key_store_error="key store not found: secrets/keys.json")
    found = diagnose(evidence, LIMITS, models_dir=tmp_path, use_llm=True)
    assert found.top == "key_store_unreadable" and found.path == "rules"   # the rules' ranking stands
    assert found.llm_top == "tv_api_down" and found.llm_disagrees
    line = "the LLM ranks tv_api_down first; actions follow the rule ranking (key_store_unreadable)"
    assert line in found.llm_view() and line in render_table(found).replace("\n", " ")
    assert found.to_json()["llm"] == {"top": "tv_api_down", "explanation": "the LLM thinks it is tv_api_down",
                                      "disagrees": True}
    llm_picks("key_store_unreadable")
    agreed = diagnose(evidence, LIMITS, models_dir=tmp_path, use_llm=True)
    assert agreed.llm_note == "LLM agrees with the rules" and agreed.llm_view().startswith("the LLM agrees")


def test_the_llm_is_asked_only_when_two_causes_match(llm_picks, tmp_path):
    asked = llm_picks("key_store_unreadable")
    assert diagnose(Evidence(now=1000.0), LIMITS, models_dir=tmp_path, use_llm=True).llm_note == "nothing to rank"
    one = diagnose(Evidence(now=1000.0, key_store_error="key store not found"), LIMITS, models_dir=tmp_path,
                   use_llm=True)
    assert one.top == "key_store_unreadable" and one.llm_top is None and "one cause" in one.llm_note
    assert asked == []   # the model (6–40 s a call on the box) was never loaded


def _result(fault: str, rules: str, llm: str | None, healed_by: str) -> DrillResult:
    return DrillResult(fault, fault.split("+")[0], rules, 1, "rules", [], healed_by, True, 0.1, "", 0, 0,
                       llm_diagnosed=llm)


def test_the_confusion_table_reports_rules_and_llm_and_what_the_box_did():
    results = [_result("sqlite_locked+stage_hung", "sqlite_locked", "stage_hung", "operator/time"),
               _result("disk_full", "disk_full", None, "fix"),
               _result("disk_full+bad_file_burst", "disk_full", "disk_full", "fix")]
    assert confusion_table(results).splitlines()[2:] == [
        "| sqlite_locked+stage_hung | sqlite_locked | sqlite_locked | stage_hung | no |",
        "| disk_full | disk_full | disk_full | - | yes |",
        "| disk_full+bad_file_burst | disk_full | disk_full | disk_full | yes |"]
    assert drill_summary(results) == ("root cause named first by rules: 3/3; by the LLM: 1/2; "
                                      "healed by itself: 2/3")
