"""Every drill on real files and SQLite: the injected fault is named first, the box ends healthy,
no media is lost and no action outside the fault's whitelist runs."""

import pytest

from ops.diagnosis.catalogue import Thresholds
from ops.diagnosis.drills import DRILLS, confusion_table, run_drill
from vv_cli.diagnosis import DRILL_NAMES

LIMITS = Thresholds(disk_full_percent=100.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)
SELF_HEALED = {"detector_model_missing", "llm_model_corrupted"}   # the box fixes these by itself


@pytest.mark.parametrize("fault", sorted(DRILLS))
def test_drill_names_the_fault_first_and_ends_healthy_with_nothing_lost(fault, tmp_path):
    sent = []
    result = run_drill(fault, LIMITS, base=tmp_path, alert=lambda title, *_: sent.append(title))
    assert result.diagnosed == fault and result.rank == 1 and result.path == "rules"
    assert result.healthy_after, result
    assert result.media_lost == 0 and result.harmful_actions == 0
    assert result.healed_by == ("fix" if fault in SELF_HEALED else "operator/time")
    assert result.passed
    assert list(tmp_path.iterdir()) == []   # the sandbox is gone


def test_model_drills_roll_back_and_requeue_what_the_missing_model_quarantined(tmp_path):
    sent = []
    result = run_drill("detector_model_missing", LIMITS, base=tmp_path,
                       alert=lambda title, message, severity, context: sent.append((title, message, context)))
    assert result.actions == ["rollback_model:detector: applied", "requeue_transient: applied"]
    assert [title for title, _, _ in sent] == ["remediation applied: rollback_model:detector",
                                               "remediation applied: requeue_transient"]
    assert sent[0][1] == "detector model missing: detector model is now drill-detector==1.0"
    assert any("file missing" in line for line in sent[0][2]["evidence"])


def test_disk_full_frees_space_by_the_cleanup_policy_and_keeps_alert_footage(tmp_path):
    result = run_drill("disk_full", LIMITS, base=tmp_path)
    assert result.actions == ["free_space: applied", "pause_ingestion: applied"]
    assert result.media_lost == 0   # what went was the policy's to delete; alert footage and curated stay


def test_the_cli_lists_every_drill():
    assert set(DRILL_NAMES) == set(DRILLS)


def test_confusion_table_counts_each_injected_fault_by_its_diagnosis(tmp_path):
    results = [run_drill(fault, LIMITS, base=tmp_path) for fault in ("clock_jump", "key_store_unreadable")]
    table = confusion_table(results).splitlines()
    assert table[0] == "| injected \\ diagnosed | clock_jump | key_store_unreadable |"
    assert table[2:] == ["| clock_jump | 1 |  |", "| key_store_unreadable |  | 1 |"]
