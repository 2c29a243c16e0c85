import stat
import subprocess
import sys

import pytest

from vv_core.cli_support import run_stage
from vv_core.errors import VVError
from vv_core.storage import STORAGE_DIRS


def run_vv(*args, env):
    return subprocess.run([sys.executable, "-m", "vv_cli.main", *args], capture_output=True, text=True,
                          env=env, check=False)


def test_vv_help_lists_commands(cli_env):
    result = run_vv("--help", env=cli_env)
    assert result.returncode == 0
    assert "bootstrap" in result.stdout and "version" in result.stdout


def test_vv_bootstrap_creates_tree_and_key_store_idempotently(cli_env, storage_root, tmp_path):
    first = run_vv("bootstrap", env=cli_env)
    assert first.returncode == 0, first.stderr
    assert all((storage_root / name).is_dir() for name in STORAGE_DIRS)
    key_store = tmp_path / "secrets" / "keys.json"
    assert str(key_store) in first.stdout.splitlines()
    assert stat.S_IMODE(key_store.stat().st_mode) == 0o600
    before = key_store.read_bytes()
    second = run_vv("bootstrap", env=cli_env)
    assert second.returncode == 0 and second.stdout == ""
    assert key_store.read_bytes() == before


def test_vv_bootstrap_refuses_a_world_readable_key_store(cli_env, tmp_path):
    key_store = tmp_path / "secrets" / "keys.json"
    key_store.parent.mkdir()
    key_store.write_text('{"active_key_id": "k", "keys": {"k": "' + "aa" * 32 + '"}}')
    key_store.chmod(0o644)
    result = run_vv("bootstrap", env=cli_env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "chmod 600" in result.stderr
    assert "aa" * 32 not in result.stderr


def test_vv_version(cli_env):
    result = run_vv("version", env=cli_env)
    assert result.returncode == 0 and result.stdout.strip()


def test_run_stage_prints_paths_and_maps_errors_to_exit_codes(capsys, tmp_path):
    run_stage(lambda: [tmp_path / "a", tmp_path / "b"])
    assert capsys.readouterr().out.splitlines() == [str(tmp_path / "a"), str(tmp_path / "b")]

    def bad_input():
        raise VVError("not a video:\n moov atom not found")

    with pytest.raises(SystemExit) as caught:
        run_stage(bad_input)
    assert caught.value.code == 1
    assert capsys.readouterr().err == "error: not a video: moov atom not found\n"

    def bug():
        raise KeyError("x")

    with pytest.raises(SystemExit) as caught:
        run_stage(bug)
    assert caught.value.code == 2
    assert "internal error: KeyError" in capsys.readouterr().err

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as caught:
        run_stage(interrupted)
    assert caught.value.code == 130
