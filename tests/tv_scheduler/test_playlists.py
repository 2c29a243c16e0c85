"""Rules per TV, the empty case, verified-only, write-only-on-change, media resolution."""

import json
import logging
from datetime import timedelta

from tests.logline_fixtures import fast_chain, make_key_store, place_media
from tests.tv_scheduler.conftest import NOW
from tv_scheduler.config import SchedulerConfig, load_config
from tv_scheduler.media import MediaResolver
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

    return build_playlists(fresh.index, fresh.config, fresh.media, now)["tv3"]["items"]


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
                               "image_url": "/media/fallback/placeholder.png", "name": "", "message": "Welcome"}
    assert doc["display"] == {"captions": "all"}
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


def test_every_successful_build_writes_the_heartbeat_even_when_no_playlist_changes(settings, scheduler, populate):
    """Freshness is the last build, not the files' age: an idle box rewrites no playlist."""
    populate(4)
    heartbeat_path = settings.storage.state / "scheduler_heartbeat.json"
    scheduler.run_once(now=T)
    first = json.loads(heartbeat_path.read_text())
    assert first["tvs"] == ["tv1", "tv2", "tv3"]   # configured TVs only, not the combined "playlist"
    validate_schema({"schema_version": "1.0", "tv": "tv1", "generated_at": first["built_at"], "items": [],
                     "fallback": {"media_url": "/x.mp4"}}, "playlist")  # the same timestamp format
    playlist_mtime = (settings.storage.playlists / "tv1.json").stat().st_mtime_ns
    heartbeat_path.write_text(json.dumps({**first, "built_at_unix": 1.0}))  # as if built long ago
    assert scheduler.build(now=T + 5) == []        # nothing rewritten...
    assert (settings.storage.playlists / "tv1.json").stat().st_mtime_ns == playlist_mtime
    second = json.loads(heartbeat_path.read_text())
    assert second["built_at_unix"] >= first["built_at_unix"]  # ...but the build was recorded


def test_idle_screen_and_captions_reach_the_playlist(settings, keys, tmp_path):
    config = SchedulerConfig.model_validate({
        "fallback": {"name": "Bakery Ruiz", "logo_url": "/media/fallback/logo.png", "message": "Back soon"},
        "tvs": {"window": {"statuses": ["alerta"], "display": {"captions": "alerts"}},
                "plain": {"statuses": ["confirmado"]}},
    })
    Scheduler(settings, config).run_once(now=T)
    window, plain = playlist(settings, "window"), playlist(settings, "plain")
    for doc in (window, plain):
        validate_schema(doc, "playlist")
        assert doc["fallback"]["name"] == "Bakery Ruiz" and doc["fallback"]["message"] == "Back soon"
        assert doc["fallback"]["logo_url"] == "/media/fallback/logo.png"
    assert window["display"] == {"captions": "alerts"} and plain["display"] == {"captions": "all"}


def test_media_comes_from_the_placement_record_never_from_the_name(settings, scheduler, populate):
    """Issue 23: the place of a video was guessed from its input name (input/x → processed/x), so a
    second video dropped under the same name played the first one's footage."""
    records = populate(8, create_media=False)
    root = settings.video_storage_root
    first, second = records[0], records[1]
    # First: moved by the orchestrator under a tagged name, with its placement record.
    tagged = first["source"]["video"].replace("input/", "processed/", 1).replace(".mp4", ".0123456789ab.mp4")
    place_media(root, first, tagged)
    # Second: a file sits where the old guess would look (processed/<same name>), but no record says
    # it is this video and its bytes do not hash to the LogLine's source_hash.
    guess = root / second["source"]["video"].replace("input/", "processed/", 1)
    guess.parent.mkdir(parents=True, exist_ok=True)
    guess.write_bytes(b"another video")
    media = MediaResolver(root, settings.storage.state)
    assert media.locate(first["source"]["video"], first["source_hash"]) == tagged
    assert media.locate(second["source"]["video"], second["source_hash"]) is None
    scheduler.run_once(now=T)
    items = playlist(settings, "playlist")["items"]
    assert [i["media_url"] for i in items] == ["/media/" + tagged]   # unplayable items are left out


def test_media_whose_bytes_do_not_match_stay_off_the_tvs(settings, scheduler, populate, caplog):
    records = populate(4)
    root = settings.video_storage_root
    replaced = root / records[3]["source"]["video"]
    replaced.write_bytes(b"swapped footage")             # size and mtime no longer as recorded
    with caplog.at_level(logging.WARNING, logger="vv.tv_scheduler"):
        scheduler.run_once(now=T)
    ids = [i["logline_id"] for i in playlist(settings, "playlist")["items"]]
    assert records[3]["id"] not in ids and len(ids) == 3
    assert "source_hash" in caplog.text and caplog.text.count("media kept off the TVs") == 1


def test_in_place_media_is_hashed_once_and_the_hash_is_cached_across_runs(settings, keys):
    """Curated videos have no placement record: their bytes are hashed, once per file version."""
    import hashlib

    content = b"curated video bytes"
    digest = hashlib.sha256(content).hexdigest()
    records = fast_chain(settings.storage.loglines, 2, keys, now=NOW, spacing_s=60,
                         video_for=lambda i: f"tv_curado/item{i}.mp4",
                         source_hash_for=lambda i: digest if i == 0 else None)
    for record in records:
        path = settings.video_storage_root / record["source"]["video"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if record["seq"] == 0 else b"not the video of LogLine 1")
    first = Scheduler(settings, load_config())
    first.run_once(now=T)
    assert [i["media_url"] for i in playlist(settings, "playlist")["items"]] == ["/media/tv_curado/item0.mp4"]
    assert first.media.hashed_files == 2
    second = Scheduler(settings, load_config())          # a new `vv schedule --once`
    second.run_once(now=T + 1)
    assert second.media.hashed_files == 0                # from the signed cache
    (settings.video_storage_root / "tv_curado/item0.mp4").write_bytes(b"edited in place")
    third = Scheduler(settings, load_config())
    third.run_once(now=T + 2)
    assert third.media.hashed_files == 1 and playlist(settings, "playlist")["items"] == []


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
