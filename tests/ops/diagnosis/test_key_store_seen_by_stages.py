"""`vv diagnose` runs as root on the host and can read a key store the stages (their own uid in the
containers) cannot: their "key store unreadable" failures name the fault until the key store is
changed (chmod, chown, a restore). Found by the key-store drill on the real stack (issue 22)."""

from ops.diagnosis.catalogue import Thresholds
from ops.diagnosis.evidence import Evidence, Quarantined
from ops.diagnosis.ranking import rank_by_rules

LIMITS = Thresholds(disk_full_percent=100.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)
REASON = "key store unreadable: key store /run/secrets/logline_keys cannot be read: Permission denied"


def evidence(*, quarantined_at: float, key_store_changed_at: float, clock_ahead_s: float = 0.0) -> Evidence:
    """``quarantined_at`` and ``key_store_changed_at`` on the filesystem's clock; the box's own clock
    (what the record's timestamp and ``now`` say) may run ``clock_ahead_s`` ahead of it."""
    now = 10_000.0 + clock_ahead_s
    return Evidence(now=now, key_store_changed_at=key_store_changed_at, quarantined=[
        Quarantined("corrupted/cam1/clip.mp4", REASON, "transient", "logline", now - (quarantined_at + clock_ahead_s),
                    written_at=quarantined_at)])


def test_stages_failing_on_the_key_store_name_it_first():
    causes = rank_by_rules(evidence(quarantined_at=9_000.0, key_store_changed_at=8_000.0), LIMITS)
    assert [c.fault for c in causes] == ["key_store_unreadable", "transient_quarantine"]
    assert "cannot be read" in causes[0].evidence[0]


def test_once_the_key_store_changed_the_files_are_requeued_not_blamed_on_it():
    causes = rank_by_rules(evidence(quarantined_at=9_000.0, key_store_changed_at=9_500.0), LIMITS)
    assert [c.fault for c in causes] == ["transient_quarantine"]


def test_the_key_store_change_is_judged_on_the_filesystem_clock_when_the_box_clock_is_off():
    # The record's timestamp is a year ahead of the file times (a wrong clock, or make
    # test-clock-ahead): the chmod after the failure still ends the blame.
    year = 365 * 24 * 3600.0
    causes = rank_by_rules(evidence(quarantined_at=9_000.0, key_store_changed_at=9_500.0, clock_ahead_s=year), LIMITS)
    assert [c.fault for c in causes] == ["transient_quarantine"]
    causes = rank_by_rules(evidence(quarantined_at=9_000.0, key_store_changed_at=8_000.0, clock_ahead_s=year), LIMITS)
    assert causes[0].fault == "key_store_unreadable"
