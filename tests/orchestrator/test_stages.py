"""orchestrator/stages.py: one row per stage, and every name in a row points at something real."""

import importlib.util
from itertools import pairwise

from orchestrator import stages
from orchestrator.stages import PIPELINE, RUN_BY_ORCHESTRATOR
from tests.helpers import REPO_ROOT
from vv_cli.settings import Settings
from vv_core.storage import STORAGE_DIRS


def test_the_pipeline_states_chain_from_discovered_to_logged():
    assert [spec.state_before for spec in PIPELINE] == ["discovered", "scanned", "summarized"]
    for earlier, later in pairwise(PIPELINE):
        assert earlier.state_after == later.state_before
        assert earlier.output_column == later.input_column  # a stage reads what the one before wrote
    assert PIPELINE[-1].state_after == "logged"


def test_every_named_setting_folder_schema_and_package_exists(tmp_path):
    settings = Settings(video_storage_root=tmp_path)
    for spec in stages.ALL.values():
        assert importlib.util.find_spec(spec.package) is not None, spec.package
        assert set(spec.writes) <= set(STORAGE_DIRS), spec.command
    for spec in RUN_BY_ORCHESTRATOR:
        assert spec.timeout_s(settings) > 0
        assert spec.container(settings)
        assert isinstance(spec.extra_args(settings), list)
    for spec in PIPELINE:
        assert spec.output_dir in STORAGE_DIRS
        assert (REPO_ROOT / "schemas" / f"{spec.schema}.schema.json").is_file()
        assert spec.output_suffix == f".{spec.schema}.json"


def test_settings_reach_the_stage_through_its_row(tmp_path):
    settings = Settings(video_storage_root=tmp_path, stage_timeout_summarize_s=42.0, container_scan="my_scanner",
                        stage_args_logline="--note 'two words'")
    assert stages.SUMMARIZE.timeout_s(settings) == 42.0
    assert stages.SCAN.container(settings) == "my_scanner"
    assert stages.LOGLINE.extra_args(settings) == ["--note", "two words"]
    assert stages.SCHEDULE.extra_args(settings) == []
