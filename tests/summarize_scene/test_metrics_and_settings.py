"""Generation-path metrics and the summarize settings."""

import json
import os

from prometheus_client import REGISTRY, generate_latest

from summarize_scene import metrics
from vv_cli.settings import Settings


def test_record_path_counts_per_path_and_rejections():
    before = metrics.path_counts()
    rejected_before = REGISTRY.get_sample_value("vv_summarize_free_output_rejected_total")
    metrics.record_path("grammar", free_rejected=True)
    metrics.record_path("template", free_rejected=False)
    after = metrics.path_counts()
    assert after["grammar"] == before["grammar"] + 1 and after["template"] == before["template"] + 1
    assert after["free"] == before["free"]
    assert REGISTRY.get_sample_value("vv_summarize_free_output_rejected_total") == rejected_before + 1
    exposed = generate_latest(REGISTRY).decode()
    assert 'vv_summarize_generation_path_total{path="free"}' in exposed   # zeros are exported too


def test_count_paths_tallies_the_durable_field_of_written_summaries(tmp_path):
    for index, path in enumerate(["free", "free", "grammar", "template"]):
        (tmp_path / f"v{index}.summary.json").write_text(json.dumps({"generation_path": path}))
    (tmp_path / "broken.summary.json").write_text("{")
    (tmp_path / "other.json").write_text(json.dumps({"generation_path": "free"}))
    assert metrics.count_paths(tmp_path) == {"free": 2, "grammar": 1, "template": 1}


def test_llm_threads_default_to_the_number_of_cores(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Settings().llm_threads == (os.cpu_count() or 1)
    monkeypatch.setenv("LLM_THREADS", "3")
    assert Settings().llm_threads == 3
    assert Settings().models_dir.name == "models"
