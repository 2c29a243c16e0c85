"""One rules loader for every module's YAML file (issue 16): one error format, ``<file>: <where>: <why>``,
and one rule for a missing file (an error naming it), whichever module loads it."""

from pathlib import Path

import pytest

from agent_dvr.config import CameraConfigError, parse_cameras_file
from summarize_scene.config import ConfigError
from summarize_scene.config import load_config as load_summarize_config
from tv_scheduler.config import load_config as load_scheduler_config
from vv_core.errors import VVError
from vv_core.rules import load_rules
from vv_ingest.config import IngestConfig, IngestConfigError, load_ingest_config

LOADERS = {
    "tv_scheduler": (lambda path, settings: load_scheduler_config(path), VVError),
    "summarize_scene": (lambda path, settings: load_summarize_config(path), ConfigError),
    "vv_ingest": (lambda path, settings: load_ingest_config(settings.model_copy(
        update={"ingest_config_file": path})), IngestConfigError),
    "agent_dvr": (lambda path, settings: parse_cameras_file(path), CameraConfigError),
}


@pytest.mark.parametrize("module", LOADERS)
def test_a_missing_rules_file_is_the_same_error_in_every_module(module, settings, tmp_path):
    load, error = LOADERS[module]
    missing = tmp_path / "nowhere" / "config.yaml"
    with pytest.raises(error) as raised:
        load(missing, settings)
    assert str(raised.value) == f"{missing}: <file>: not found"


@pytest.mark.parametrize("module", LOADERS)
def test_an_unknown_key_is_named_in_the_same_format_in_every_module(module, settings, tmp_path):
    load, error = LOADERS[module]
    path = tmp_path / "config.yaml"
    path.write_text("colour: blue\n")
    with pytest.raises(error) as raised:
        load(path, settings)
    assert str(raised.value).startswith(f"{path}: colour: unknown key")


@pytest.mark.parametrize("module", LOADERS)
def test_broken_yaml_names_the_line_in_every_module(module, settings, tmp_path):
    load, error = LOADERS[module]
    path = tmp_path / "config.yaml"
    path.write_text("a: 1\nb: [\n")
    with pytest.raises(error) as raised:
        load(path, settings)
    assert str(raised.value).startswith(f"{path}: line 3, column 1: not valid YAML")


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(VVError, match=r": <file>: must be a mapping, not a list$"):
        load_rules(path, IngestConfig)


def test_an_empty_file_is_an_empty_mapping_and_the_defaults_apply(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("# nothing here yet\n")
    assert load_rules(path, IngestConfig) == IngestConfig()


def test_ingest_finds_its_relative_rules_file_in_the_repository(settings):
    # settings chdir'd to a temp dir: vv_ingest/config.yaml is not there, the repository's is used.
    assert not Path("vv_ingest/config.yaml").exists()
    assert load_ingest_config(settings) == IngestConfig()
