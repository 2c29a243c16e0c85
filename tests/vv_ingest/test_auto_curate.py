"""auto_curate end to end: catalog → rotation in tv_curado/ → summaries → signed LogLines (real
logline generator, real key store)."""

import json
import subprocess
import sys
import time

import pytest

from ops.provisioning.bootstrap import bootstrap
from vv_core.schema import validate_schema
from vv_ingest.auto_curate import CurationError, curate, load_history, select_items
from vv_ingest.catalog_videos import build_catalog
from vv_ingest.config import Curation

pytestmark = pytest.mark.slow
DAY = 86_400.0
T0 = 1_795_300_000.0


@pytest.fixture
def cataloged(ingest_settings, small_config, library):
    bootstrap(ingest_settings)              # the HMAC key store the LogLines are signed with
    build_catalog(ingest_settings, small_config)
    return ingest_settings


def rules(**changes):
    return Curation(**{"count": 2, "rotation_period_hours": 24, "tags": [], "no_repeat_days": 3, **changes})


def test_rotation_places_videos_and_writes_signed_curado_loglines(cataloged, small_config):
    report = curate(cataloged, small_config, now=T0)
    root = cataloged.storage.root
    assert report.rotated and report.rotation_id == time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(T0))
    assert [p.name for p in report.videos] == ["bigbuckbunny.mp4", "bikes.mp4"]  # never shown: by id
    for video, summary_path, logline_path in zip(report.videos, report.summaries, report.loglines, strict=True):
        assert video.parent == cataloged.storage.tv_curado and video.stat().st_size > 0
        summary = json.loads(summary_path.read_text())
        validate_schema(summary, "summary")
        assert summary["status"] == "curado" and summary["engine"] == "catalog"
        assert summary["source"]["video"] == f"tv_curado/{video.name}"
        logline = json.loads(logline_path.read_text())
        validate_schema(logline, "logline")
        assert logline["status"] == "curado" and logline["source"]["video"] == f"tv_curado/{video.name}"
        assert logline["source_hash"] == summary["source_hash"] and logline["did"] == "curated"
        assert logline_path.with_name(f"{logline['id']}.md").exists()
    verify = subprocess.run([sys.executable, "-m", "scripts.logline_verifier", str(cataloged.storage.loglines)],
                            capture_output=True, text=True, env=_env(cataloged), check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    history = load_history(root / "state" / "curation_history.json")
    assert [item["id"] for item in history[-1]["items"]] == ["bigbuckbunny", "bikes"]


def test_a_rotation_writes_its_loglines_in_one_generator_run_under_one_checkpoint(cataloged, small_config,
                                                                                  monkeypatch):
    from vv_core.keystore import load_key_store
    from vv_core.notes import open_checkpoint, signers_from_key_store
    from vv_core.tlog import read_checkpoint
    from vv_ingest import auto_curate

    runs, real_run = [], subprocess.run

    def recorded(argv, **kwargs):  # the real processes; the generator's arguments remembered
        if "logline_generator.logline_generator" in argv:
            runs.append(argv[argv.index("logline_generator.logline_generator") + 1:])
        return real_run(argv, **kwargs)

    monkeypatch.setattr(auto_curate.subprocess, "run", recorded)
    report = curate(cataloged, small_config, now=T0)
    assert runs == [[*map(str, report.summaries), "--output-dir", str(cataloged.storage.loglines)]]
    records = [json.loads(path.read_text()) for path in report.loglines]
    assert [r["seq"] for r in records] == [0, 1] and [r["id"] for r in records] == [
        json.loads(p.read_text())["id"] for p in report.summaries]      # chained in selection order
    signer, _ = signers_from_key_store(load_key_store(cataloged.checkpoint_key_store_path),
                                       cataloged.transparency_origin)
    note = read_checkpoint(cataloged.storage.loglines)
    assert note is not None and open_checkpoint(note, [signer.verifier_key])[0].size == 2


def test_rotation_period_no_repeats_and_tags(cataloged, small_config):
    first = curate(cataloged, small_config, now=T0)
    # Inside the period nothing changes.
    assert curate(cataloged, small_config, now=T0 + 3600).rotated is False
    # Next period: the one item not shown in the window comes first; shown ones are not repeated.
    second = curate(cataloged, small_config, now=T0 + 1.1 * DAY)
    assert [p.name for p in second.videos] == ["tone_clip.mp4"]
    on_tv = sorted(p.name for p in cataloged.storage.tv_curado.glob("*.mp4"))
    assert on_tv == ["tone_clip.mp4"]                     # the previous selection left tv_curado/
    assert all(path.exists() for path in first.loglines)  # its signed LogLines are history: kept
    # Everything was shown within 3 days: nothing eligible → the current selection stays.
    third = curate(cataloged, small_config, now=T0 + 2.2 * DAY)
    assert third.rotated is False and "no eligible" in third.reason
    assert sorted(p.name for p in cataloged.storage.tv_curado.glob("*.mp4")) == ["tone_clip.mp4"]
    # After the window, the least recently shown come back first.
    fourth = curate(cataloged, small_config, now=T0 + 4.5 * DAY)
    assert [p.name for p in fourth.videos] == ["bigbuckbunny.mp4", "bikes.mp4"]
    # Tags restrict the pool; --force rotates inside the period.
    tagged = small_config.model_copy(update={"curation": rules(tags=["city"], no_repeat_days=0)})
    forced = curate(cataloged, tagged, now=T0 + 4.6 * DAY, force=True)
    assert [p.name for p in forced.videos] == ["bikes.mp4"]


def test_select_items_is_pure_and_deduplicates_content():
    items = [{"id": "a", "sha256": "1", "tags": ["x"]}, {"id": "b", "sha256": "1", "tags": ["x"]},
             {"id": "c", "sha256": "2", "tags": ["y"]}, {"id": "d", "sha256": "3", "tags": []}]
    history = [{"started_ts": T0 - 10 * DAY, "items": [{"sha256": "2"}]}]
    assert [i["id"] for i in select_items(items, history, rules(count=5), T0)] == ["a", "d", "c"]
    assert [i["id"] for i in select_items(items, history, rules(tags=["y"]), T0)] == ["c"]
    assert select_items(items, history, rules(no_repeat_days=11, tags=["y"]), T0) == []


def test_curate_needs_a_catalog_and_a_readable_history(ingest_settings, small_config):
    with pytest.raises(CurationError, match="vv ingest catalog"):
        curate(ingest_settings, small_config)
    history = ingest_settings.storage.state / "curation_history.json"
    history.write_text("{not json")
    with pytest.raises(CurationError, match="unreadable curation history"):
        load_history(history)


def test_logline_failure_is_reported_and_history_not_advanced(cataloged, small_config, tmp_path):
    broken = cataloged.model_copy(update={"key_store_path": tmp_path / "no-such-keys.json"})
    with pytest.raises(CurationError, match="logline for curado_bigbuckbunny_"):
        curate(broken, small_config, now=T0)
    assert load_history(cataloged.storage.state / "curation_history.json") == []
    # The next run (keys back) redoes the rotation with the same ids.
    assert curate(cataloged, small_config, now=T0).rotated


def test_vv_ingest_curate_cli(cataloged, cli_env, tmp_path):
    defaults = tmp_path / "defaults.yaml"  # an empty rules file: every default (a missing one is an error)
    defaults.write_text("# defaults\n")
    env = dict(_env(cataloged), INGEST_CONFIG_FILE=str(defaults))
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", "ingest", "curate"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    written = result.stdout.split()
    assert len(written) == 3 and all(path.endswith(".logline.json") for path in written)
    again = subprocess.run([sys.executable, "-m", "vv_ingest.auto_curate"], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=60, check=False)
    assert again.returncode == 0 and again.stdout == ""      # inside the rotation period
    forced = subprocess.run([sys.executable, "-m", "vv_ingest.auto_curate", "--force"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=180, check=False)
    assert forced.returncode == 0 and forced.stdout == ""    # all 3 shown within 7 days: nothing eligible


def _env(settings):
    from tests.helpers import repo_env

    return repo_env(VIDEO_STORAGE_ROOT=str(settings.video_storage_root),
                    KEY_STORE_PATH=str(settings.key_store_path))
