"""The verified index: incremental refresh, the signed cache, in-place edits, key rotation."""

import json
import os

from logline_generator.logline_generator import generate_logline
from tests.logline_fixtures import summary_doc, write_summary
from tests.tv_scheduler.conftest import NOW
from tv_scheduler.config import load_config
from tv_scheduler.tv_scheduler import CACHE_NAME, Scheduler
from vv_core.keystore import rotate_key_store
from vv_core.loglines import encode_logline, link_hash, logline_filename, seal_logline

T = NOW.timestamp()


def test_one_new_logline_is_the_only_file_verified(settings, scheduler, populate):
    records = populate(30)
    scheduler.run_once(now=T)
    assert scheduler.index.verified_files == 30
    new = seal_logline({**records[-1], "id": "cam0_new", "status": "alerta", "when": "2026-11-21T11:59:59Z"},
                       seq=30, prev_hash=link_hash(records[-1]), key_store=scheduler.index.key_store)
    (settings.storage.loglines / logline_filename("cam0_new")).write_bytes(encode_logline(new))
    assert scheduler.refresh_names({"cam0_new.logline.json", "not-a-logline.tmp"})
    assert scheduler.index.verified_files == 31
    written = scheduler.build(now=T)
    assert {p.name for p in written} == {"tv2.json", "playlist.json"}
    assert not scheduler.refresh_names({"cam0_new.logline.json"})          # unchanged: nothing to do


def test_removed_file_takes_its_successor_off_the_tvs(settings, scheduler, populate):
    records = populate(6)
    scheduler.run_once(now=T)
    assert len(scheduler.index.trusted) == 6
    (settings.storage.loglines / logline_filename(records[2]["id"])).unlink()
    assert scheduler.refresh_names({logline_filename(records[2]["id"])})
    assert len(scheduler.index.trusted) == 4   # seq 2 gone, seq 3 no longer linked
    assert not scheduler.refresh_names({logline_filename(records[2]["id"])})
    assert scheduler.refresh_all() is False


def test_second_run_uses_the_signed_cache(settings, keys, populate):
    populate(20)
    first = Scheduler(settings, load_config())
    first.run_once(now=T)
    cache = settings.storage.state / CACHE_NAME
    assert cache.exists()
    second = Scheduler(settings, load_config())
    assert second.run_once(now=T) == []
    assert second.index.verified_files == 0 and len(second.index.trusted) == 20
    # a forged cache (one row's hash changed, old MAC kept) is ignored: everything is checked again
    mac, payload = cache.read_bytes().split(b"\n", 1)
    document = json.loads(payload)
    document["rows"][0][8] = "0" * 64
    cache.write_bytes(mac + b"\n" + json.dumps(document).encode())
    third = Scheduler(settings, load_config())
    third.run_once(now=T)
    assert third.index.verified_files == 20


def test_in_place_edit_with_restored_mtime_is_noticed(settings, scheduler, populate):
    records = populate(4)
    scheduler.run_once(now=T)
    path = settings.storage.loglines / logline_filename(records[1]["id"])
    stat = path.stat()
    data = path.read_bytes().replace(b"Event 1", b"Event 9")
    with open(path, "r+b") as handle:      # same inode, same size
        handle.write(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    fresh = Scheduler(settings, load_config())
    fresh.load_cache()
    fresh.refresh_all()
    assert fresh.index.untrusted()[path.name] == "bad_signature"


def test_key_rotation_is_picked_up_without_restart(settings, scheduler, keys):
    root = settings.video_storage_root
    generate_logline(write_summary(root, summary_doc("cam1_a")), settings=settings)
    scheduler.run_once(now=T)
    rotate_key_store(settings.key_store_path, "k2")
    generate_logline(write_summary(root, summary_doc("cam1_b")), settings=settings)
    scheduler.refresh_names({"cam1_b.logline.json"})
    assert scheduler.index.key_store.active_key_id == "k2"
    assert len(scheduler.index.trusted) == 2


def test_missing_directory_is_empty(settings, scheduler):
    assert scheduler.index.refresh_all() is False
    assert scheduler.index.untrusted() == {}
    assert NOW


def test_a_first_scan_sorts_in_bulk_and_matches_one_by_one_inserts(settings, scheduler, populate):
    populate(300)
    scheduler.index.refresh_all()
    bulk = {status: list(keys) for status, keys in scheduler.index.by_status.items()}
    assert sum(map(len, bulk.values())) == 300
    one_by_one = Scheduler(settings, load_config())
    for name in sorted(scheduler.index.entries):
        one_by_one.refresh_names({name})
    assert one_by_one.index.by_status == bulk
    assert all(keys == sorted(keys) for keys in bulk.values())
