"""Rules per TV, the empty case, verified-only, write-only-on-change, media resolution."""

import json
import logging
from datetime import timedelta

from tests.logline_fixtures import fast_chain, make_key_store
from tests.tv_scheduler.conftest import NOW
from tv_scheduler.config import SchedulerConfig, load_config
from tv_scheduler.playlists import media_path
from tv_scheduler.tv_scheduler import Scheduler
from vv_core.schema import validate_schema

T = NOW.timestamp()


def playlist(settings, name):
    return json.loads((settings.storage.playlists / f"{name}.json").read_text())


def statuses(doc):
    return [item["status"] for item in doc["items"]]


def test_each_tv_gets_its_statuses_in_its_order(settings, scheduler, populate):
    records = populate(40)   # statuses cycle confirmado, alerta, experimental, curado; 1 min apart
    written = scheduler.run_once(now=T)
    assert {p.name for p in written} == {"tv1.json", "tv2.json", "tv3.json", "playlist.json"}
    tv1, tv2, tv3 = (playlist(settings, tv) for tv in ("tv1", "tv2", "tv3"))
    for doc in (tv1, tv2, tv3, playlist(settings, "playlist")):
        validate_schema(doc, "playlist")
    assert set(statuses(tv1)) == {"confirmado", "curado"} and len(tv1["items"]) == 20
    assert [i["when"] for i in tv1["items"]] == sorted(i["when"] for i in tv1["items"])  # chronological
    assert set(statuses(tv2)) == {"alerta"} and len(tv2["items"]) == 10
    assert [i["seq"] for i in tv2["items"]] == sorted((i["seq"] for i in tv2["items"]), reverse=True)
    assert set(statuses(tv3)) == {"experimental", "curado"} and len(tv3["items"]) == 20
    assert [i["seq"] for i in tv3["items"]] != sorted(i["seq"] for i in tv3["items"])  # shuffled
    item = tv2["items"][0]
    newest_alert = max((r for r in records if r["status"] == "alerta"), key=lambda r: r["seq"])
    assert item["logline_id"] == newest_alert["id"] and item["who"] == newest_alert["who"]
    assert item["media_url"] == "/media/" + newest_alert["source"]["video"]
    assert item["duration_s"] == 10.0 and item["title"] == newest_alert["title"]
    combined = playlist(settings, "playlist")
    assert combined["tv"] == "all" and len(combined["items"]) == 40 - 0  # every item is on some TV
    assert set(combined["rules"]["tvs"]) == {"tv1", "tv2", "tv3"}


def test_shuffle_is_stable_between_runs_and_changes_with_the_period(settings, keys, populate):
    populate(60)
    order = [i["seq"] for i in _tv3_items(settings, T)]
    assert order == [i["seq"] for i in _tv3_items(settings, T + 60)]       # new process, same period
    assert order != [i["seq"] for i in _tv3_items(settings, T + 25 * 3600 - 3600)]  # next period


def _tv3_items(settings, now):
    fresh = Scheduler(settings, load_config())
    fresh.index.refresh_all()
    from tv_scheduler.playlists import build_playlists

    return build_playlists(fresh.index, fresh.config, settings.video_storage_root, now)["tv3"]["items"]


def test_window_and_max_items(settings, keys, populate):
    populate(48, spacing_s=3600)    # two days, one per hour
    config = SchedulerConfig.model_validate({
        "window_hours": 24, "max_items": 5,
        "tvs": {"all_statuses": {"statuses": ["confirmado", "alerta", "experimental", "curado"]},
                "wide": {"statuses": ["alerta"], "window_hours": 48, "max_items": 100}}})
    scheduler = Scheduler(settings, config)
    scheduler.run_once(now=T)
    recent = playlist(settings, "all_statuses")["items"]
    assert len(recent) == 5 and [i["seq"] for i in recent] == [43, 44, 45, 46, 47]  # newest 5, oldest first
    wide = playlist(settings, "wide")["items"]
    assert len(wide) == 12   # every alert of the 48 hours
    assert playlist(settings, "wide")["rules"] == {"statuses": ["alerta"], "order": "chronological",
                                                    "window_hours": 48, "max_items": 100}


def test_empty_case_plays_the_fallback_loop(settings, scheduler, keys):
    written = scheduler.run_once(now=T)
    assert len(written) == 4
    doc = playlist(settings, "tv1")
    assert doc["items"] == []
    assert doc["fallback"] == {"media_url": "/media/fallback/loop_silencioso.mp4",
                               "image_url": "/media/fallback/placeholder.png"}
    old = fast_chain(settings.storage.loglines, 3, keys, now=NOW - timedelta(days=3))
    assert old and scheduler.run_once(now=T) == []   # all outside the window: still the fallback


def test_only_verified_and_chained_loglines_reach_a_tv(settings, scheduler, populate, caplog):
    records = populate(12)
    loglines = settings.storage.loglines
    tampered = loglines / f"{records[4]['id']}.logline.json"          # confirmado, seq 4
    tampered.write_bytes(tampered.read_bytes().replace(b"Event 4", b"Event X"))
    stranger = make_key_store(settings.key_store_path.with_name("other.json"), "stranger")
    foreign = fast_chain(settings.video_storage_root / "foreign", 1, stranger)[0]
    (loglines / "foreign.logline.json").write_bytes(
        (settings.video_storage_root / "foreign" / f"{foreign['id']}.logline.json").read_bytes())
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        scheduler.run_once(now=T)
    shown = {i["seq"] for i in playlist(settings, "playlist")["items"]}
    assert 4 not in shown and 5 not in shown   # the edited record and the one linking to it
    assert shown == set(range(12)) - {4, 5}
    untrusted = scheduler.index.untrusted()
    assert untrusted[tampered.name] == "bad_signature"
    assert untrusted["foreign.logline.json"] == "unknown_key"
    assert "kept off the TVs" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vv.alerts"):
        scheduler.build(now=T)
    assert "kept off the TVs" not in caplog.text        # alerted once, not every pass


def test_playlists_are_rewritten_only_when_content_changes(settings, scheduler, populate):
    populate(8)
    assert len(scheduler.run_once(now=T)) == 4
    before = (settings.storage.playlists / "tv1.json").read_bytes()
    assert scheduler.build(now=T + 5) == []                   # only generated_at would differ
    assert (settings.storage.playlists / "tv1.json").read_bytes() == before
    restarted = Scheduler(settings, load_config())            # knows nothing: compares with disk
    assert restarted.run_once(now=T + 10) == []
    (settings.storage.playlists / "tv2.json").unlink()
    assert [p.name for p in restarted.build(now=T + 10)] == ["tv2.json"]


def test_media_moved_to_processed_and_missing_media(settings, scheduler, populate):
    records = populate(8, create_media=False)
    root = settings.video_storage_root
    moved = records[0]["source"]["video"].replace("input/", "processed/", 1)
    (root / moved).parent.mkdir(parents=True)
    (root / moved).touch()
    assert media_path(records[0]["source"]["video"], root) == moved
    assert media_path(records[1]["source"]["video"], root) is None
    scheduler.run_once(now=T)
    items = playlist(settings, "playlist")["items"]
    assert [i["media_url"] for i in items] == ["/media/" + moved]   # unplayable items are left out


def test_an_item_shows_the_scanner_cover_as_its_thumbnail(settings, scheduler, populate):
    records = populate(4)
    pictured = records[1]["id"]
    cover = settings.video_storage_root / "snapshots" / pictured / "cover.jpg"
    cover.parent.mkdir(parents=True)
    cover.write_bytes(b"\xff\xd8\xff\xd9")
    scheduler.run_once(now=T)
    doc = playlist(settings, "playlist")
    validate_schema(doc, "playlist")
    thumbnails = {item["logline_id"]: item["thumbnail_url"] for item in doc["items"]}
    assert thumbnails.pop(pictured) == f"/thumbnails/snapshots/{pictured}/cover.jpg"
    assert set(thumbnails.values()) == {None}  # no cover: no thumbnail (the TV shows the video)
