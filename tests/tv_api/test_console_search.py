"""Semantic search with the real embedding model (installed and verified from the manifest), the
degraded mode without it, and `vv search` end to end."""

import json
import subprocess
import sys

import pytest

from tests.helpers import repo_env
from tests.tv_api.console_support import EventSpec, install_embedder, key_store_for, write_events
from tv_api.console.embedder import EmbedderUnavailable, load_embedder
from tv_api.console.index import Filters, SearchIndex
from tv_api.console.state import build_index, manifest_for

EVENTS = [
    EventSpec("cam1_bike", "Cyclist passes the gate after dark",
              "A person rides a bicycle past the front gate at night.", "2026-11-21T23:10:00Z",
              labels={"person": 1, "bicycle": 1}),
    EventSpec("cam1_van", "Delivery van at the garage", "A white van parks and a courier carries a parcel.",
              "2026-11-21T10:00:00Z", labels={"car": 1, "person": 1}),
    EventSpec("cam2_dog", "Dog on the lawn", "A dog runs across the lawn and sniffs the flower bed.",
              "2026-11-21T12:00:00Z", camera="cam2", labels={"dog": 1}),
    EventSpec("cam2_rain", "Heavy rain on the drive", "Rain falls on an empty drive; nothing moves.",
              "2026-11-21T14:00:00Z", camera="cam2", labels={}),
]


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return install_embedder(tmp_path_factory.mktemp("models"))


@pytest.fixture
def indexed(settings, models_dir):
    settings.storage.ensure()
    write_events(settings.storage.root, key_store_for(settings), EVENTS)
    storage = settings.storage
    index, slot = build_index(storage.root, storage.state, storage.loglines, models_dir, "all-minilm-l6-v2")
    index.refresh()
    return index, slot


def test_semantic_search_finds_the_event_by_meaning(indexed):
    index, slot = indexed
    embedder = slot()
    assert embedder is not None and index.stats()["vectors"] == len(EVENTS)
    # none of these words is in the cyclist's title or summary
    top = index.search_semantic("someone on a bike in the dark", Filters(), embedder, limit=4)
    assert top[0]["id"] == "cam1_bike" and top[0]["score"] > top[1]["score"] + 0.1
    assert all(-1.0 <= r["score"] <= 1.0 for r in top)  # cosines
    assert index.search_text("someone on a bike in the dark", Filters()) == []
    assert index.search_semantic("a puppy playing in the garden", Filters(), embedder)[0]["id"] == "cam2_dog"
    only_cam2 = index.search_semantic("someone on a bike in the dark", Filters(camera="cam2"), embedder)
    assert {r["id"] for r in only_cam2} == {"cam2_dog", "cam2_rain"}


def test_a_tampered_model_file_is_refused_and_search_degrades(models_dir, tmp_path):
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(models_dir, copy)
    weights = copy / "all-minilm-l6-v2" / "0.1.0" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(EmbedderUnavailable, match="sha256"):
        load_embedder(copy, manifest_for(copy), "all-minilm-l6-v2")


def test_without_the_model_the_slot_says_why(settings, tmp_path):
    settings.storage.ensure()
    _, slot = build_index(settings.storage.root, settings.storage.state, settings.storage.loglines,
                          tmp_path / "no-models", "all-minilm-l6-v2")
    assert slot() is None and "vv model install all-minilm-l6-v2" in slot.reason


def test_new_loglines_are_found_on_the_next_query(indexed, settings):
    index, slot = indexed
    write_events(settings.storage.root, key_store_for(settings), [
        EventSpec("cam1_fox", "Fox by the bins", "A fox walks by the bins.", "2026-11-22T01:00:00Z")],
        start_seq=len(EVENTS))
    index.refresh()
    assert index.search_text("fox", Filters())[0]["id"] == "cam1_fox"
    assert index.stats()["vectors"] == len(EVENTS) + 1  # embedded as it was indexed
    assert index.search_semantic("a fox walking past the dustbins", Filters(), slot())[0]["id"] == "cam1_fox"


def run_vv(env, *args):
    return subprocess.run([sys.executable, "-m", "vv_cli.main", "search", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_vv_search_cli_full_text_semantic_and_degraded(settings, storage_root, tmp_path, models_dir):
    settings.storage.ensure()
    write_events(storage_root, key_store_for(settings), EVENTS)
    env = repo_env(VIDEO_STORAGE_ROOT=str(storage_root), MODELS_DIR=str(tmp_path / "no-models"))
    rebuilt = run_vv(env, "--rebuild")
    assert rebuilt.returncode == 0 and "index rebuilt: 4 LogLine(s)" in rebuilt.stderr
    words = run_vv(env, "delivery van", "--json")
    assert [json.loads(line)["id"] for line in words.stdout.splitlines()] == ["cam1_van"]
    degraded = run_vv(env, "someone on a bike in the dark", "--semantic")
    assert degraded.returncode == 0 and "FULL-TEXT results only" in degraded.stderr and "full-text" in degraded.stderr
    semantic = run_vv({**env, "MODELS_DIR": str(models_dir)}, "someone on a bike in the dark", "--semantic",
                      "--limit", "1")
    assert semantic.returncode == 0 and "cam1_bike" in semantic.stdout and "semantic" in semantic.stderr


def test_index_rebuild_is_idempotent(settings, storage_root):
    settings.storage.ensure()
    write_events(storage_root, key_store_for(settings), EVENTS)
    index = SearchIndex(storage_root, settings.storage.state, settings.storage.loglines)
    assert index.rebuild() == 4 and index.rebuild() == 4 and index.stats()["events"] == 4


def test_full_text_index_keeps_no_second_copy_of_the_text_and_converts_an_old_index(settings):
    import sqlite3

    settings.storage.ensure()
    storage = settings.storage
    old = sqlite3.connect(storage.state / "console_search.sqlite3")
    old.executescript("CREATE VIRTUAL TABLE events_fts USING fts5(title, summary, labels, persons, camera,"
                      " tokenize = 'unicode61 remove_diacritics 2');")  # as the first console built it
    old.close()
    write_events(storage.root, key_store_for(settings), EVENTS)
    index = SearchIndex(storage.root, storage.state, storage.loglines)
    index.refresh()
    tables = {r[0] for r in index.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "events_fts" in tables and "events_fts_content" not in tables  # the words live in events only
    assert [r["id"] for r in index.search_text("bicycle gate", Filters())] == ["cam1_bike"]
    assert [r["id"] for r in index.search_text("flower", Filters())] == ["cam2_dog"]
    (storage.loglines / "cam2_dog.logline.json").unlink()  # a deleted row leaves the token index too
    index.refresh(full=True)
    assert index.search_text("flower", Filters()) == []
    index.rebuild()
    assert [r["id"] for r in index.search_text("courier", Filters())] == ["cam1_van"]
    integrity = index.db.execute("INSERT INTO events_fts (events_fts, rank) VALUES ('integrity-check', 1)")
    assert integrity is not None  # raises on an index out of step with events
