"""The command contract end to end: `python -m summarize_scene.summarize_scene`, the script path,
`vv summarize` and `vv model list|install|use|rollback`, each as a real child process."""

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT
from tests.summarize_scene.conftest import (
    PEOPLE,
    RELABELLED_MODEL,
    TEST_MODEL,
    corrupt_in_place_safely,
    link_into,
    make_analytic,
    write_analytic,
)
from vv_core.schema import validate_schema

pytestmark = pytest.mark.slow


def run(args, env):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, check=False,
                          timeout=300)


def vv(*args, env):
    return run(["-m", "vv_cli.main", *args], env)


def test_stage_module_summarizes_with_the_real_model(cli_env, storage_root, models_dir):
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    result = run(["-m", "summarize_scene.summarize_scene", str(analytic), "--models-dir", str(models_dir)], cli_env)
    assert result.returncode == 0, result.stderr
    written = storage_root / "summaries" / "cam1_20261121T101500Z.summary.json"
    assert result.stdout.splitlines() == [str(written)]
    document = json.loads(written.read_text())
    validate_schema(document, "summary")
    assert document["engine"] == "llama.cpp" and "person" in f"{document['title']} {document['summary']}".lower()
    assert document["timings"]["load_ms"] > 0   # the CLI loads per call
    assert document["timings"]["prompt_tokens_restored"] == 0  # first process: builds the prefix state

    again = run(["-m", "summarize_scene.summarize_scene", str(analytic), "--models-dir", str(models_dir)], cli_env)
    assert again.returncode == 0, again.stderr
    second = json.loads(written.read_text())
    assert second["timings"]["prompt_tokens_restored"] > 300  # the next process restores it
    assert (second["title"], second["summary"]) == (document["title"], document["summary"])


def test_vv_summarize_without_a_model_writes_the_template(cli_env, storage_root, empty_models_dir, tmp_path):
    analytic = write_analytic(storage_root, make_analytic(detections=[]))
    out_dir = tmp_path / "out"
    result = vv("summarize", str(analytic), "--output-dir", str(out_dir), "--models-dir", str(empty_models_dir),
                env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(out_dir / "cam1_20261121T101500Z.summary.json")]
    assert json.loads((out_dir / "cam1_20261121T101500Z.summary.json").read_text())["engine"] == "template"


def test_script_path_follows_the_same_contract(cli_env, storage_root):
    (storage_root / "logs").mkdir()
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    env = {**cli_env, "MODELS_DIR": str(storage_root / "no-models")}
    result = run([str(REPO_ROOT / "summarize_scene" / "summarize_scene.py"), str(analytic)], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("cam1_20261121T101500Z.summary.json")
    log = [json.loads(line) for line in (storage_root / "logs" / "app.log").read_text().splitlines()]
    assert any(entry["message"] == "summary written" and entry["video_id"] == "cam1_20261121T101500Z"
               for entry in log)


def assert_one_line_failure(result, code, *fragments):
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def test_bad_inputs_fail_with_one_line_and_write_nothing(cli_env, storage_root, empty_models_dir):
    broken = storage_root / "analytic" / "x.analytic.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    assert_one_line_failure(vv("summarize", str(broken), env=cli_env), 1, "not valid JSON")
    invalid = make_analytic(detections=[{"timestamp": 1.0, "type": "object", "label": "person", "confidence": 3,
                                         "bbox": [0, 0, 1, 1]}])
    assert_one_line_failure(vv("summarize", str(write_analytic(storage_root, invalid)), env=cli_env), 1,
                            "detections[0].confidence")
    assert not (storage_root / "summaries").exists()


def test_an_analytic_outside_the_storage_root_is_refused_with_the_rule(cli_env, storage_root, empty_models_dir,
                                                                        tmp_path):
    """The stage-input rule (as `vv scan` says it): summarize's own input lies inside the storage root."""
    outside = write_analytic(tmp_path / "elsewhere", make_analytic(detections=[]))
    result = vv("summarize", str(outside), "--models-dir", str(empty_models_dir), env=cli_env)
    assert_one_line_failure(result, 1, f"analytic {outside} is outside the storage root {storage_root}",
                            "stage inputs must be inside the storage root (VIDEO_STORAGE_ROOT)")
    assert not (storage_root / "summaries").exists()
    # the same analytic inside the root is summarized
    inside = write_analytic(storage_root, make_analytic(detections=[]))
    assert vv("summarize", str(inside), "--models-dir", str(empty_models_dir), env=cli_env).returncode == 0


def test_corrupted_model_fails_the_command_before_loading(cli_env, storage_root, models_dir, manifest):
    corrupt_in_place_safely(manifest.find(*TEST_MODEL).install_path(models_dir))
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    result = run(["-m", "summarize_scene.summarize_scene", str(analytic), "--models-dir", str(models_dir)], cli_env)
    assert_one_line_failure(result, 1, "fails its sha256 check", "refusing to load")
    assert not (storage_root / "summaries").exists()


def test_a_missed_deadline_exits_0_with_a_labelled_template_and_a_rejected_model_still_exits_2(
        cli_env, storage_root, models_dir, tmp_path):
    shipped = (REPO_ROOT / "summarize_scene" / "config.yaml").read_text()
    assert "timeout_s: 30" in shipped
    slow = tmp_path / "slow.yaml"
    slow.write_text(shipped.replace("timeout_s: 30", "timeout_s: 0.001"))
    analytic = write_analytic(storage_root, make_analytic(detections=PEOPLE))
    result = vv("summarize", str(analytic), "--config", str(slow), "--models-dir", str(models_dir), env=cli_env)
    written = storage_root / "summaries" / "cam1_20261121T101500Z.summary.json"
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(written)] and result.stderr == ""
    document = json.loads(written.read_text())
    validate_schema(document, "summary")
    assert (document["engine"], document["generation_path"]) == ("template", "template")
    assert document["fallback_reason"].startswith("llm deadline 0.001 s passed")

    # A model whose output is refused even with the grammar is a fault, not a slow box: exit 2, nothing written.
    written.unlink()
    broken = tmp_path / "broken.yaml"
    broken.write_text(shipped.replace("free: {max_tokens: 80}", "free: {max_tokens: 3}")
                      .replace("grammar: {max_tokens: 120}", "grammar: {max_tokens: 6}"))
    result = vv("summarize", str(analytic), "--config", str(broken), "--models-dir", str(models_dir), env=cli_env)
    assert_one_line_failure(result, 2, "rejected even with the grammar")
    assert not written.exists()


def test_model_lifecycle_commands(cli_env, empty_models_dir, manifest, cached_gguf):
    env = {**cli_env, "MODELS_DIR": str(empty_models_dir)}
    listed = vv("model", "list", env=env)
    assert listed.returncode == 0 and "bitnet-b1.58-large" in listed.stdout and "gemma3-270m" in listed.stdout
    rows = [json.loads(line) for line in vv("model", "list", "--json", env=env).stdout.splitlines()]
    assert not any(row["installed"] or row["current"] for row in rows)
    assert [row["default"] for row in rows if row["name"] == "bitnet-b1.58-large"] == [True]

    assert_one_line_failure(vv("model", "use", "gemma3-270m", "--version", "q4_k_m-1.0.0", env=env), 1,
                            "not installed")
    for name, version in (TEST_MODEL, RELABELLED_MODEL):
        link_into(empty_models_dir, manifest, name, version, cached_gguf)  # as if downloaded earlier
    installed = vv("model", "install", "gemma3-270m", "--version", "q4_k_m-1.0.0", "--use", env=env)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip() == str(manifest.find(*TEST_MODEL).install_path(empty_models_dir))
    assert_one_line_failure(vv("model", "rollback", env=env), 1, "no previous llm model")

    switched = vv("model", "use", "gemma3-270m", "--version", "q4_k_m-1.0.0-relabel", env=env)
    assert switched.returncode == 0, switched.stderr
    pointer = json.loads((empty_models_dir / ".current_model_info.json").read_text())
    assert (pointer["version"], pointer["previous"]["version"]) == ("q4_k_m-1.0.0-relabel", "q4_k_m-1.0.0")

    rolled = vv("model", "rollback", "--kind", "llm", env=env)
    assert rolled.returncode == 0 and rolled.stdout.strip() == str(empty_models_dir / ".current_model_info.json")
    pointer = json.loads((empty_models_dir / ".current_model_info.json").read_text())
    assert (pointer["version"], pointer["previous"]["version"]) == ("q4_k_m-1.0.0", "q4_k_m-1.0.0-relabel")
    current = [row for row in map(json.loads, vv("model", "list", "--json", env=env).stdout.splitlines())
               if row["current"]]
    assert [(row["name"], row["version"]) for row in current] == [TEST_MODEL]

    assert_one_line_failure(vv("model", "rollback", "--kind", "camera", env=env), 1, "--kind must be")
    assert_one_line_failure(vv("model", "install", "no-such-model", env=env), 1, "not in the manifest")
