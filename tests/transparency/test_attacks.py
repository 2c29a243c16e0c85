"""Attacks by whoever holds the box's keys, each caught by an auditor holding only the public key and
a checkpoint kept from before. In every case the HMAC verifier (`vv verify` with the key) passes."""

import base64

import pytest

from tests.logline_fixtures import record_fields
from tests.transparency.support import ORIGIN, WHEN, make_log, records, rewrite_history
from transparency.audit import audit
from transparency.verifier import verify_directory
from vv_core.merkle import leaf_hash, root_of
from vv_core.notes import Checkpoint, NoteSigner, sign_note
from vv_core.tlog_proofs import consistency

CONTENT = ("schema_version", "id", "who", "did", "this", "when", "status", "title", "summary", "source",
           "source_hash")


def contents(log):
    return [{k: r[k] for k in CONTENT} for r in records(log)]


@pytest.fixture
def log(tmp_path):
    return make_log(tmp_path, 8)


def assert_hmac_verifier_passes(log):
    report = verify_directory(log.directory, log.keys)
    assert report.ok, report.problems


def test_the_untouched_log_passes_the_audit(log):
    kept = log.checkpoint()
    log.append(8)
    report = audit(log.directory, log.checkpoint(), [log.public_key], since_note=kept)
    assert report.ok and report.checked == 9 and report.tree_size == 9


def test_edit_one_logline_and_reseal_the_whole_chain(log):
    kept = log.checkpoint()
    fields = contents(log)
    fields[3]["summary"] = "Nothing happened."           # the edit
    rewrite_history(log, fields)
    assert_hmac_verifier_passes(log)
    alone = audit(log.directory, kept, [log.public_key])
    assert any("do not hash to the root of checkpoint 8" in p for p in alone.problems)
    resigned = audit(log.directory, log.checkpoint(), [log.public_key], since_note=kept)
    assert any("split view" in p for p in resigned.problems), resigned.problems


def test_truncate_and_reseal(log):
    kept = log.checkpoint()
    rewrite_history(log, contents(log)[:6])
    assert_hmac_verifier_passes(log)
    report = audit(log.directory, log.checkpoint(), [log.public_key], since_note=kept)
    assert any("rollback: the log shrank from 8 to 6" in p for p in report.problems)
    assert any("truncated" in p for p in audit(log.directory, kept, [log.public_key]).problems)


def test_insert_a_logline_in_the_middle(log):
    kept = log.checkpoint()
    fields = contents(log)
    fields.insert(4, record_fields(99, when=WHEN, status="alerta"))
    rewrite_history(log, fields)
    assert_hmac_verifier_passes(log)
    report = audit(log.directory, log.checkpoint(), [log.public_key], since_note=kept)
    assert any("history was rewritten after the older checkpoint" in p for p in report.problems)


def test_fork_two_checkpoints_of_one_size(log):
    shown_to_alice = log.checkpoint()
    other_root = root_of([leaf_hash(b"another history %d" % i) for i in range(8)])
    shown_to_bob = sign_note(Checkpoint(ORIGIN, 8, other_root).text(), log.signing.signer)
    report = audit(None, shown_to_bob, [log.public_key], since_note=shown_to_alice)
    assert report.problems == ["split view: two signed checkpoints of size 8 with different roots — "
                               "the box showed two different histories"]


def test_an_inconsistent_bigger_checkpoint_fails_its_consistency_proof(log):
    kept = log.checkpoint()
    log.append(8)
    log.append(9)
    honest_proof = [base64.b64decode(h) for h in consistency(log.directory, 8, 10)["proof"]]
    assert audit(None, log.checkpoint(), [log.public_key], since_note=kept, consistency_proof=honest_proof).ok
    forged = sign_note(Checkpoint(ORIGIN, 10, leaf_hash(b"rewritten")).text(), log.signing.signer)
    report = audit(None, forged, [log.public_key], since_note=kept, consistency_proof=honest_proof)
    assert any("does not extend checkpoint 8" in p for p in report.problems)


def test_a_checkpoint_signed_by_another_key_is_refused(log):
    forger = NoteSigner.from_seed(ORIGIN, b"\x09" * 32)   # same name, not the box's key
    fields = contents(log)
    fields[0]["title"] = "Forged"
    rewrite_history(log, fields, resign_checkpoint=False)
    leaves = sorted(records(log), key=lambda r: r["seq"])
    root = root_of(leaf_hash((log.directory / f"{r['id']}.logline.json").read_bytes()) for r in leaves)
    forged = sign_note(Checkpoint(ORIGIN, 8, root).text(), forger)
    report = audit(log.directory, forged, [log.public_key])
    assert report.problems and "not signed by the given public key" in report.problems[0]

def test_a_genuine_checkpoint_with_an_edited_size_is_refused(log):
    tampered = log.checkpoint().replace("\n8\n", "\n9\n")
    report = audit(None, tampered, [log.public_key])
    assert report.problems and "not signed by the given public key" in report.problems[0]
