import json
import os
import subprocess
import sys

import pytest

from vv_core.errors import VVError
from vv_core.hashing import compute_sha256
from vv_core.schema import validate_schema
from vv_ingest import catalog_videos
from vv_ingest.catalog_videos import build_catalog

pytestmark = pytest.mark.slow


def items_by_id(manifest):
    return {item["id"]: item for item in json.loads(manifest.read_text())["items"]}


def test_catalog_lists_every_library_video_with_its_facts(ingest_settings, small_config, library):
    report = build_catalog(ingest_settings, small_config)
    assert report.manifest == ingest_settings.storage.tv_curado / "catalog.json"
    assert (report.items, report.hashed, report.reused) == (3, 3, 0)
    document = json.loads(report.manifest.read_text())
    validate_schema(document, "catalog")
    bikes = items_by_id(report.manifest)["bikes"]
    assert bikes["title"] == "Bikes" and bikes["tags"] == ["city", "people"]
    assert bikes["video"] == "tv_curado/library/bikes.mp4"
    assert bikes["thumbnail"] == "tv_curado/library/bikes.jpg"
    assert bikes["resolution"] == "320x180" and 9.5 <= bikes["duration_s"] <= 10.5
    assert bikes["sha256"] == compute_sha256(library / "bikes.mp4")
    assert bikes["size_bytes"] == (library / "bikes.mp4").stat().st_size


def test_catalog_is_incremental(ingest_settings, small_config, library, monkeypatch):
    first = build_catalog(ingest_settings, small_config)
    before = items_by_id(first.manifest)

    # Unchanged files are not hashed (nor probed) again: prove it by making hashing impossible.
    def no_hashing(path):
        raise AssertionError(f"re-hashed {path}")

    monkeypatch.setattr(catalog_videos, "compute_sha256", no_hashing)
    meta = library / "bikes.meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "tags": ["bikes", "outdoor"], "title": "Ride"}))
    second = build_catalog(ingest_settings, small_config)
    assert (second.hashed, second.reused) == (0, 3)
    after = items_by_id(second.manifest)
    assert after["bikes"]["tags"] == ["bikes", "outdoor"] and after["bikes"]["title"] == "Ride"
    assert after["bikes"]["sha256"] == before["bikes"]["sha256"]

    # A changed file (new bytes, new mtime) is hashed again; a removed file leaves the manifest.
    monkeypatch.undo()
    with (library / "tone_clip.mp4").open("ab") as handle:
        handle.write(b"\0" * 16)
    os.utime(library / "tone_clip.mp4", ns=(1, 1_700_000_000_000_000_000))
    (library / "bigbuckbunny.mp4").unlink()
    third = build_catalog(ingest_settings, small_config)
    assert (third.items, third.hashed, third.reused) == (2, 1, 1)
    assert items_by_id(third.manifest)["tone_clip"]["sha256"] != before["tone_clip"]["sha256"]


def test_unusable_manifest_is_rebuilt_and_junk_is_quarantined(ingest_settings, small_config, library):
    manifest = ingest_settings.storage.tv_curado / "catalog.json"
    manifest.write_text('{"items": "not a list"}')
    (library / "junk.mp4").write_text("not a video")
    report = build_catalog(ingest_settings, small_config)
    assert (report.items, report.hashed) == (3, 3)
    assert [p.name for p in report.quarantined] == ["junk.mp4"]
    assert (ingest_settings.storage.corrupted / "ingest" / "junk.mp4.error.json").exists()


def test_missing_library_is_a_clear_error(ingest_settings, small_config):
    with pytest.raises(VVError, match="vv ingest process"):
        build_catalog(ingest_settings, small_config)


def test_vv_ingest_catalog_cli(cli_env, storage_root, library, tmp_path):
    defaults = tmp_path / "defaults.yaml"  # an empty rules file: every default (a missing one is an error)
    defaults.write_text("# defaults\n")
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "ingest", "catalog"], capture_output=True,
                            text=True, env=dict(cli_env, INGEST_CONFIG_FILE=str(defaults)),
                            cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(storage_root / "tv_curado" / "catalog.json")
    assert len(items_by_id(storage_root / "tv_curado" / "catalog.json")) == 3
