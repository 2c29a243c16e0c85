"""Appending to the chain: genesis, links, idempotency, crash recovery, refusal of broken chains."""

import json

import pytest

from logline_generator import chain as chain_module
from logline_generator.chain import ChainError, append_logline, recover_head
from logline_generator.logline_generator import generate_logline
from tests.logline_fixtures import fast_chain, make_key_store, summary_doc, write_summary
from transparency.verifier import verify_directory
from vv_core.errors import VVError
from vv_core.keystore import load_key_store
from vv_core.loglines import GENESIS_HASH, HEAD_FILE, LOCK_FILE, link_hash, read_head


@pytest.fixture
def keys(settings):
    return make_key_store(settings.key_store_path)


def make(settings, name, **kwargs):
    return write_summary(settings.video_storage_root, summary_doc(name, **kwargs))


def load(path):
    return json.loads(path.read_bytes())


def test_genesis_then_linked_records(settings, keys):
    first = generate_logline(make(settings, "cam1_a"), settings=settings)
    second = generate_logline(make(settings, "cam1_b", status="alerta"), settings=settings)
    a, b = load(first), load(second)
    assert (a["seq"], a["prev_hash"]) == (0, GENESIS_HASH)
    assert (b["seq"], b["prev_hash"]) == (1, link_hash(a))
    assert a["key_id"] == keys.active_key_id and b["status"] == "alerta"
    assert first.with_name("cam1_a.md").read_text().startswith("# Title cam1_a")
    head = read_head(first.parent, keys)
    assert (head.seq, head.hash, head.pending) == (1, link_hash(b), None)
    assert verify_directory(first.parent, keys).ok


def test_regenerating_returns_the_existing_logline(settings, keys):
    summary = make(settings, "cam1_a")
    first = generate_logline(summary, settings=settings)
    before = first.read_bytes()
    first.with_name("cam1_a.md").unlink()
    again = generate_logline(summary, settings=settings)
    assert again == first and first.read_bytes() == before
    assert first.with_name("cam1_a.md").exists()          # the human view is restored
    assert read_head(first.parent, keys).seq == 0         # no second record


def test_same_id_other_video_is_refused(settings, keys):
    generate_logline(make(settings, "cam1_a"), settings=settings)
    with pytest.raises(ChainError, match="already chained for another video"):
        generate_logline(make(settings, "cam1_a", source_hash="e" * 64), settings=settings)


def test_bad_summary_is_a_clear_error(settings, keys, tmp_path):
    with pytest.raises(VVError, match="summary not found"):
        generate_logline(tmp_path / "nope.summary.json", settings=settings)
    broken = tmp_path / "broken.summary.json"
    broken.write_text("{")
    with pytest.raises(VVError, match="not readable JSON"):
        generate_logline(broken, settings=settings)
    doc = summary_doc("x")
    del doc["status"]
    bad = tmp_path / "bad.summary.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(VVError, match="status"):
        generate_logline(bad, settings=settings)


def test_crash_after_record_before_head_rolls_forward(settings, keys, monkeypatch):
    generate_logline(make(settings, "cam1_a"), settings=settings)
    real_write_head = chain_module.write_head
    calls = []

    def crash_on_commit(directory, head, key_store):
        calls.append(head)
        if head.pending is None:
            raise KeyboardInterrupt("power cut")  # after the record and .md were written
        real_write_head(directory, head, key_store)

    monkeypatch.setattr(chain_module, "write_head", crash_on_commit)
    with pytest.raises(KeyboardInterrupt):
        generate_logline(make(settings, "cam1_b"), settings=settings)
    monkeypatch.setattr(chain_module, "write_head", real_write_head)
    loglines = settings.storage.loglines
    (loglines / "cam1_b.md").unlink()                         # crash came before the .md, too
    assert read_head(loglines, keys).pending["id"] == "cam1_b"
    third = generate_logline(make(settings, "cam1_c"), settings=settings)
    assert load(third)["seq"] == 2 and load(loglines / "cam1_b.logline.json")["seq"] == 1
    assert (loglines / "cam1_b.md").exists()
    assert verify_directory(loglines, keys).ok


def test_crash_before_record_rolls_back(settings, keys, monkeypatch):
    generate_logline(make(settings, "cam1_a"), settings=settings)

    def crash(*_args, **_kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(chain_module, "atomic_write_bytes", crash)
    with pytest.raises(OSError):
        generate_logline(make(settings, "cam1_b"), settings=settings)
    monkeypatch.undo()
    loglines = settings.storage.loglines
    assert read_head(loglines, keys).pending is not None
    retried = generate_logline(make(settings, "cam1_b"), settings=settings)
    assert load(retried)["seq"] == 1                          # same seq reused: no gap
    assert verify_directory(loglines, keys).ok


def test_lost_head_is_rebuilt_from_the_records(settings, keys):
    loglines = settings.storage.loglines
    fast_chain(loglines, 5, keys, write_head=False)
    path = generate_logline(make(settings, "cam1_new"), settings=settings)
    assert load(path)["seq"] == 5
    assert verify_directory(loglines, keys).ok
    empty = settings.video_storage_root / "loglines_empty"
    empty.mkdir()
    assert recover_head(empty, keys).seq == -1


def test_broken_chain_or_tampered_head_is_refused(settings, keys):
    loglines = settings.storage.loglines
    records = fast_chain(loglines, 4, keys, write_head=False)
    (loglines / f"{records[1]['id']}.logline.json").unlink()
    with pytest.raises(ChainError, match="cannot rebuild the chain head"):
        generate_logline(make(settings, "cam1_x"), settings=settings)
    fast_chain(loglines, 4, keys)  # whole again, with a head
    head = json.loads((loglines / HEAD_FILE).read_text())
    head["seq"] = 99
    (loglines / HEAD_FILE).write_text(json.dumps(head))
    with pytest.raises(ChainError, match="signature does not match"):
        generate_logline(make(settings, "cam1_x"), settings=settings)


def test_existing_file_that_does_not_verify_is_refused(settings, keys):
    path = generate_logline(make(settings, "cam1_a"), settings=settings)
    path.write_bytes(path.read_bytes().replace(b"detected", b"DETECTED"))
    with pytest.raises(ChainError, match="not a valid chained LogLine"):
        generate_logline(make(settings, "cam1_a"), settings=settings)


def test_busy_lock_times_out_with_a_clear_error(settings, keys, tmp_path):
    from filelock import FileLock

    loglines = tmp_path / "loglines"
    loglines.mkdir()
    fields = {"id": "x"}
    with FileLock(loglines / LOCK_FILE), pytest.raises(ChainError, match="busy"):
        append_logline(loglines, fields, load_key_store(settings.key_store_path), lock_timeout_s=0.1)


def test_rotation_new_records_use_the_new_key(settings, keys):
    from vv_core.keystore import rotate_key_store

    generate_logline(make(settings, "cam1_a"), settings=settings)
    rotate_key_store(settings.key_store_path, "k2")
    path = generate_logline(make(settings, "cam1_b"), settings=settings)
    assert load(path)["key_id"] == "k2"
    store = load_key_store(settings.key_store_path)
    assert verify_directory(path.parent, store).ok
