"""One checkpoint per run of appends; the node file is synced once per checkpoint, and what a crash
could leave past the checkpoint is recomputed from the LogLine files before anything is signed."""

import os
import signal
import subprocess
import sys

import pytest

from logline_generator import transparency
from logline_generator.chain import append_logline, append_loglines
from logline_generator.logline_generator import generate_loglines
from tests.logline_fixtures import make_key_store, record_fields, summary_doc, write_summary
from tests.logline_generator.test_transparency import checkpoint_signing, crash_env, file_root
from tests.transparency.support import ORIGIN, WHEN, make_log
from transparency.audit import audit
from transparency.verifier import verify_directory
from vv_core.errors import VVError
from vv_core.keystore import create_key_store, load_key_store
from vv_core.notes import open_checkpoint, signers_from_key_store
from vv_core.tlog import HASH_SIZE, TLOG_DIR, TreeStore, logline_paths, node_position


def fields(index):
    return record_fields(index, when=WHEN, status="confirmado")


def test_a_batch_signs_one_checkpoint_and_syncs_the_nodes_once(tmp_path, monkeypatch):
    log = make_log(tmp_path, 2)
    calls = {"fsync": 0, "fdatasync": 0, "checkpoint": 0}
    real_fsync, real_fdatasync, real_write = os.fsync, os.fdatasync, transparency.write_checkpoint

    def count(name, real):
        def counted(*args):
            calls[name] += 1
            return real(*args)
        return counted

    monkeypatch.setattr(os, "fsync", count("fsync", real_fsync))
    monkeypatch.setattr(os, "fdatasync", count("fdatasync", real_fdatasync))
    monkeypatch.setattr(transparency, "write_checkpoint", count("checkpoint", real_write))
    paths = append_loglines(log.directory, [fields(i) for i in range(2, 12)], log.keys, signing=log.signing)
    assert len(paths) == 10 and len(set(paths)) == 10
    # per LogLine: 4 atomic writes (file + directory fsync each); per run: one fdatasync + one checkpoint
    assert calls == {"fsync": 10 * 8 + 2, "fdatasync": 1, "checkpoint": 1}
    checkpoint = open_checkpoint(log.checkpoint(), [log.public_key])[0]
    assert (checkpoint.size, checkpoint.root) == (12, file_root(log.directory))
    report = audit(log.directory, log.checkpoint(), [log.public_key])
    assert report.ok, report.problems


def test_unsynced_nodes_past_the_checkpoint_are_recomputed_before_signing(tmp_path):
    """A power cut can zero a parent node past the checkpoint while its leaf survives; signing over
    it would publish a root the LogLines do not have (a fork in every auditor's eyes)."""
    log = make_log(tmp_path, 3)
    append_logline(log.directory, fields(3), log.keys, signing=None)   # leaf 3 past checkpoint 3
    nodes = log.directory / TLOG_DIR / "nodes"
    with nodes.open("r+b") as torn:
        for level, index in ((1, 1), (2, 0)):                          # the parents leaf 3 completed
            torn.seek(node_position(level, index) * HASH_SIZE)
            torn.write(b"\x00" * HASH_SIZE)
    log.append(4)
    checkpoint = open_checkpoint(log.checkpoint(), [log.public_key])[0]
    assert (checkpoint.size, checkpoint.root) == (5, file_root(log.directory))
    with TreeStore(log.directory) as store:
        assert store.root(4) == file_root(log.directory, 4)


def test_a_bad_summary_in_a_run_is_reported_and_the_others_are_written(settings):
    make_key_store(settings.key_store_path)
    root = settings.video_storage_root
    good = [write_summary(root, summary_doc(f"cam1_{n}")) for n in range(2)]
    bad = root / "summaries" / "cam1_bad.summary.json"
    bad.write_text("{not json")
    with pytest.raises(VVError, match=r"cam1_bad.summary.json is not readable JSON.*2 LogLine\(s\) written"):
        generate_loglines([good[0], bad, good[1]], settings=settings)
    assert len(logline_paths(settings.storage.loglines)) == 2


BATCH_WORKER = """
import sys
from pathlib import Path
from logline_generator.logline_generator import generate_loglines
from vv_cli.settings import Settings
generate_loglines([Path(p) for p in sys.argv[1:]], settings=Settings())
"""


@pytest.mark.parametrize("point", ["after-tree-append", "before-checkpoint", "after-tree-sync"])
def test_sigkill_during_a_batch_recovers_with_consistent_checkpoints(settings, cli_env, tmp_path, point):
    keys = make_key_store(settings.key_store_path)
    settings, public = checkpoint_signing(settings, tmp_path)
    checkpoint_keys = settings.checkpoint_key_store_path
    root, loglines = settings.video_storage_root, settings.storage.loglines
    generate_loglines([write_summary(root, summary_doc(f"cam1_{n}")) for n in range(2)], settings=settings)
    before = (loglines / TLOG_DIR / "checkpoint").read_text()
    batch = [write_summary(root, summary_doc(f"cam1_run{n}")) for n in range(3)]
    process = subprocess.run([sys.executable, "-c", BATCH_WORKER, *map(str, batch)], capture_output=True,
                             text=True, env=crash_env(cli_env, checkpoint_keys, point), timeout=120, check=False)
    assert process.returncode == -signal.SIGKILL, process.stderr
    assert (loglines / TLOG_DIR / "checkpoint").read_text() == before   # the batch was never signed
    generate_loglines([*batch, write_summary(root, summary_doc("cam1_after"))], settings=settings)
    assert verify_directory(loglines, keys).ok
    after = (loglines / TLOG_DIR / "checkpoint").read_text()
    assert open_checkpoint(after, [public])[0].size == len(logline_paths(loglines)) == 6
    report = audit(loglines, after, [public], since_note=before)
    assert report.ok, report.problems


@pytest.mark.slow
def test_vv_logline_with_several_summaries_signs_one_checkpoint(cli_env, storage_root, tmp_path):
    make_key_store(tmp_path / "secrets" / "keys.json")
    create_key_store(tmp_path / "secrets" / "checkpoint_keys.json", "c1")
    summaries = [write_summary(storage_root, summary_doc(f"cam1_{n}")) for n in range(3)]
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "logline", *map(str, summaries)],
                            capture_output=True, text=True, env={**cli_env, "TRANSPARENCY_ORIGIN": ORIGIN},
                            check=False)
    assert result.returncode == 0, result.stderr
    loglines = storage_root / "loglines"
    assert result.stdout.split() == [str(loglines / f"cam1_{n}.logline.json") for n in range(3)]
    public = signers_from_key_store(load_key_store(tmp_path / "secrets" / "checkpoint_keys.json"), ORIGIN)[0]
    note = (loglines / TLOG_DIR / "checkpoint").read_text()
    assert open_checkpoint(note, [public.verifier_key])[0].size == 3
