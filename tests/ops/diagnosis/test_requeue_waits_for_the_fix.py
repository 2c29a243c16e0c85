"""`vv diagnose --fix` re-queues the files a fault quarantined only once the fault is healed: when the
fault's own action failed (no previous detector to roll back to, as on the real stack's drill), the
files would only fail again, so they stay in quarantine for a later round (issue 22)."""

import json

from ops.diagnosis.catalogue import Thresholds
from ops.diagnosis.drills import sandbox_for
from ops.diagnosis.evidence import gather
from ops.diagnosis.faults import inject_detector_missing
from ops.diagnosis.ranking import diagnose
from ops.diagnosis.remediation import remediate
from orchestrator.quarantine import list_quarantined

LIMITS = Thresholds(disk_full_percent=100.0, bad_file_burst=10, clock_jump_s=300.0, stage_hung_s=3600.0)


def test_no_requeue_while_the_rollback_failed_then_requeued_once_healed(tmp_path):
    sent = []
    with sandbox_for(LIMITS, tmp_path) as sandbox:
        pointer = json.loads((sandbox.models_dir / ".current_detector_info.json").read_text())
        (sandbox.models_dir / pointer["previous"]["path"]).unlink()   # nothing to roll back to
        current = sandbox.models_dir / pointer["path"]
        pinned = current.read_bytes()
        inject_detector_missing(sandbox)
        found = diagnose(gather(sandbox.probe), LIMITS)
        assert found.top == "detector_model_missing"
        results = remediate(found, root=sandbox.root, models_dir=sandbox.models_dir, policy=sandbox.policy,
                            apply=True, alert=lambda *a: sent.append(a[0]))
        assert [(r.action, r.outcome) for r in results] == [("rollback_model:detector", "failed"),
                                                           ("requeue_transient", "unavailable")]
        assert [q.kind for q in list_quarantined(sandbox.root)] == ["transient"]   # still waiting
        assert sent == ["remediation failed: rollback_model:detector"]
        # The operator reinstalls the detector (vv model install): the next round re-queues the file.
        current.write_bytes(pinned)
        healed = diagnose(gather(sandbox.probe), LIMITS)
        assert healed.top == "transient_quarantine"
        again = remediate(healed, root=sandbox.root, models_dir=sandbox.models_dir, policy=sandbox.policy,
                          apply=True, alert=lambda *a: sent.append(a[0]))
        assert [(r.action, r.outcome) for r in again] == [("requeue_transient", "applied")]
        assert list_quarantined(sandbox.root) == []
