"""The writer keeps the Merkle tree and a signed checkpoint in step with the chain, across crashes."""

import base64
import os
import signal
import subprocess
import sys

import pytest

from logline_generator.logline_generator import generate_logline
from logline_generator.transparency import CRASH_HOOK_ENV, TransparencyError
from tests.logline_fixtures import make_key_store, summary_doc, write_summary
from tests.transparency.support import ORIGIN, make_log, records
from transparency.audit import audit
from transparency.verifier import verify_directory
from vv_core.canonical import pretty_json
from vv_core.keystore import create_key_store, load_key_store
from vv_core.loglines import ChainHead, head_document, link_hash
from vv_core.merkle import root_of, verify_consistency
from vv_core.notes import open_checkpoint, signers_from_key_store
from vv_core.tlog import TLOG_DIR, TreeStore, logline_paths, read_leaf
from vv_core.tlog_proofs import consistency


def file_root(directory, size=None):
    leaves = sorted((read_leaf(p) for p in logline_paths(directory)), key=lambda leaf: leaf.seq)
    return root_of([leaf.hash for leaf in leaves][:size])


def test_every_append_signs_a_checkpoint_over_the_files(tmp_path):
    log = make_log(tmp_path, 0)
    previous = None
    for index in range(6):
        log.append(index)
        checkpoint, signers = open_checkpoint(log.checkpoint(), [log.public_key])
        assert (checkpoint.origin, checkpoint.size, signers) == (ORIGIN, index + 1, [log.public_key])
        assert checkpoint.root == file_root(log.directory)
        if previous is not None:   # each checkpoint extends the one before
            proof = consistency(log.directory, previous.size, checkpoint.size)
            assert proof["old_root"] == base64.b64encode(previous.root).decode()
        previous = checkpoint
    log.append(3)   # idempotent: the same LogLine again changes nothing
    assert open_checkpoint(log.checkpoint(), [log.public_key])[0].size == 6


def test_a_lost_or_torn_tree_is_rebuilt_from_the_files(tmp_path):
    log = make_log(tmp_path, 5)
    nodes = log.directory / TLOG_DIR / "nodes"
    nodes.unlink()
    log.append(5)
    assert open_checkpoint(log.checkpoint(), [log.public_key])[0].root == file_root(log.directory)
    with nodes.open("ab") as torn:
        torn.write(b"\xff" * 40)             # a crash mid-write left garbage past the last node
    log.append(6)
    with TreeStore(log.directory) as store:
        assert store.size() == 7 and store.root(7) == file_root(log.directory)


def test_the_box_refuses_to_sign_over_an_edited_checkpointed_logline(tmp_path):
    log = make_log(tmp_path, 4)
    victim = log.directory / f"{records(log)[1]['id']}.logline.json"
    victim.write_bytes(victim.read_bytes().replace(b"Event 1", b"Event X"))
    (log.directory / TLOG_DIR / "nodes").unlink()        # even with the index gone, the files decide
    with pytest.raises(TransparencyError, match="no longer hash to checkpoint 4"):
        log.append(4)


def test_the_box_refuses_a_chain_shorter_than_its_checkpoint(tmp_path):
    log = make_log(tmp_path, 3)
    kept = records(log)[:2]
    (log.directory / f"{records(log)[2]['id']}.logline.json").unlink()
    # the HMAC key holder re-signs a head that ends at seq 1: the chain alone looks whole again
    head = ChainHead(1, link_hash(kept[-1]), kept[-1]["id"])
    (log.directory / ".chain_head.json").write_bytes(pretty_json(head_document(head, log.keys)))
    assert verify_directory(log.directory, log.keys).ok
    with pytest.raises(TransparencyError, match="checkpoint 3 was signed: LogLines were removed"):
        log.append(3)


def checkpoint_signing(settings, tmp_path):
    """The settings of a box that signs checkpoints (a fresh Ed25519 key store), and its verifier key."""
    checkpoint_keys = tmp_path / "secrets" / "checkpoint_keys.json"
    create_key_store(checkpoint_keys, "c1")
    settings = settings.model_copy(update={"checkpoint_key_store_path": checkpoint_keys,
                                           "transparency_origin": ORIGIN})
    return settings, signers_from_key_store(load_key_store(checkpoint_keys), ORIGIN)[0].verifier_key


def crash_env(cli_env, settings_paths, point):
    env = dict(cli_env)
    env.update(CHECKPOINT_KEY_STORE_PATH=str(settings_paths), TRANSPARENCY_ORIGIN=ORIGIN)
    env[CRASH_HOOK_ENV] = point
    return env


WORKER = """
import sys
from pathlib import Path
from logline_generator.logline_generator import generate_logline
from vv_cli.settings import Settings
generate_logline(Path(sys.argv[1]), settings=Settings())
"""


@pytest.mark.parametrize("point", ["after-record", "after-head", "after-tree-append"])
def test_sigkill_during_append_and_checkpoint_recovers_consistently(settings, cli_env, tmp_path, point):
    keys = make_key_store(settings.key_store_path)
    settings, public = checkpoint_signing(settings, tmp_path)
    checkpoint_keys = settings.checkpoint_key_store_path
    root, loglines = settings.video_storage_root, settings.storage.loglines
    for n in range(3):
        generate_logline(write_summary(root, summary_doc(f"cam1_{n}")), settings=settings)
    before = (loglines / TLOG_DIR / "checkpoint").read_text()
    victim = write_summary(root, summary_doc("cam1_killed"))
    process = subprocess.run([sys.executable, "-c", WORKER, str(victim)], capture_output=True, text=True,
                             env=crash_env(cli_env, checkpoint_keys, point), timeout=120, check=False)
    assert process.returncode == -signal.SIGKILL, process.stderr        # really killed at that point
    assert (loglines / TLOG_DIR / "checkpoint").read_text() == before   # no checkpoint for the torn append
    # the next run finishes (or rolls back) the interrupted append, then appends its own
    generate_logline(victim, settings=settings)
    generate_logline(write_summary(root, summary_doc("cam1_after")), settings=settings)
    assert verify_directory(loglines, keys).ok
    after = (loglines / TLOG_DIR / "checkpoint").read_text()
    checkpoint = open_checkpoint(after, [public])[0]
    assert checkpoint.size == len(logline_paths(loglines)) == 5
    old = open_checkpoint(before, [public])[0]
    proof = [base64.b64decode(h) for h in consistency(loglines, old.size, checkpoint.size)["proof"]]
    verify_consistency(old.size, checkpoint.size, old.root, checkpoint.root, proof)
    report = audit(loglines, after, [public], since_note=before)
    assert report.ok, report.problems
    assert os.environ.get(CRASH_HOOK_ENV) is None
