"""Deployment lint, as CI runs it: shellcheck, hadolint, compose config, systemd-analyze verify."""

import subprocess

import pytest

from tests.deploy.tools import compose_env, tool, tracked
from tests.helpers import REPO_ROOT

UNITS = ["vv-video-ai.service", "vv-video-ai.timer", "vv-update.service", "vv-update.timer", "vv-diagnose.service",
         "vv-diagnose.timer"]


def shell_scripts() -> list:
    scripts = set(tracked("*.sh"))
    for path in tracked("."):  # extension-less scripts with a shell shebang (.ci/run)
        if path.is_file() and path.suffix == "" and path.read_bytes()[:64].startswith(b"#!/usr/bin/env bash"):
            scripts.add(path)
    return sorted(scripts)


def test_every_shell_script_passes_shellcheck():
    scripts = shell_scripts()
    assert REPO_ROOT / "install.sh" in scripts and REPO_ROOT / ".ci" / "run" in scripts
    result = subprocess.run([tool("shellcheck"), "--severity=info", *map(str, scripts)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dockerfile_passes_hadolint():
    dockerfiles = tracked("Dockerfile", "*/Dockerfile", "**/Dockerfile")
    assert REPO_ROOT / "deploy" / "Dockerfile" in dockerfiles  # the stages' one recipe (+ nginx)
    result = subprocess.run([tool("hadolint"), "--failure-threshold", "info", *map(str, dockerfiles)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_config_is_valid(tmp_path):
    result = subprocess.run([tool("docker-compose"), "--project-directory", str(REPO_ROOT), "config", "-q"],
                            capture_output=True, text=True, env=compose_env(tmp_path), cwd=REPO_ROOT, check=False)
    assert result.returncode == 0, result.stderr


def test_compose_defaults_to_the_checkouts_storage_and_secrets(tmp_path):
    env = compose_env(tmp_path)
    for name in ("VIDEO_STORAGE_ROOT", "MODELS_DIR", "KEY_STORE_PATH"):
        del env[name]
    result = subprocess.run([tool("docker-compose"), "--project-directory", str(REPO_ROOT), "config"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert f"source: {REPO_ROOT}/storage" in result.stdout
    assert f"{REPO_ROOT}/secrets/logline_keys.json" in result.stdout


@pytest.mark.parametrize("install_dir", [None, "/srv/vv"])
def test_systemd_units_verify_without_warnings(tmp_path, install_dir):
    units = []
    for name in UNITS:
        text = (REPO_ROOT / name).read_text()
        if install_dir:  # what install.sh writes for --dir /srv/vv
            text = text.replace("/opt/vv-video-ai-system", install_dir)
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    result = subprocess.run([tool("systemd-analyze"), "verify", *units],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == "", result.stderr


def test_a_broken_unit_is_caught(tmp_path):
    """The verify check can fail: a typo'd directive is reported."""
    bad = tmp_path / "vv-video-ai.service"
    bad.write_text((REPO_ROOT / "vv-video-ai.service").read_text().replace("Type=", "Tpye="))
    result = subprocess.run([tool("systemd-analyze"), "verify", str(bad)], capture_output=True, text=True,
                            check=False)
    assert "Tpye" in result.stderr
