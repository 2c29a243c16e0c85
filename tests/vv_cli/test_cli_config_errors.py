"""Bad configuration is one line naming what is wrong and what to do, never a traceback (issue 19):
a bad value or an unknown key in .env, a busy port for `vv serve`, a VIDEO_STORAGE_ROOT that does not
exist, an offline `vv model install`. Each runs the real `vv` as a subprocess."""

import json
import socket
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

COMMANDS = [("status",), ("model", "list"), ("serve",), ("orchestrate", "--once"), ("schedule", "--once"),
            ("tokens", "list")]
BAD_VALUES = [("TV_API_PORT", "eighty", "is invalid"), ("SCAN_CONFIDENCE", "2", "is invalid"),
              ("ORCHESTRATOR_RUNNER", "kubernetes", "is invalid"), ("NOT_A_SETTING", "1", "is not a setting")]


def run_vv(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "vv_cli.main", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120, check=False)


def assert_one_line(result, *needles):
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(("name", "value", "says"), BAD_VALUES)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_bad_dotenv_value_is_one_line_on_every_command(cli_env, tmp_path, name, value, says, command):
    (tmp_path / ".env").write_text(f"LOG_LEVEL=INFO\n{name}={value}\n")
    line = assert_one_line(run_vv(command, cli_env, tmp_path), name, says, ".env")
    assert value not in line.replace(name, "")      # the value itself is not echoed (it may be a secret)


def test_vv_serve_on_a_busy_port_names_the_port(cli_env, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_vv(["serve", "--host", "127.0.0.1", "--port", str(port)], cli_env, tmp_path)
    assert_one_line(result, f"port {port}", "already in use", "TV_API_PORT")


def test_a_storage_root_that_does_not_exist_is_refused_not_created(cli_env, tmp_path):
    typo = tmp_path / "stroage" / "storage"
    env = {**cli_env, "VIDEO_STORAGE_ROOT": str(typo)}
    for command in (("orchestrate", "--once"), ("schedule", "--once"), ("status",), ("up",)):
        assert_one_line(run_vv(command, env, tmp_path), f"VIDEO_STORAGE_ROOT {typo} does not exist", "vv bootstrap")
    assert not typo.parent.exists()
    for command in (("backup", "--help"), ("status", "--help")):  # asking for help needs no storage tree
        shown = run_vv(command, env, tmp_path)
        assert shown.returncode == 0 and "Usage:" in shown.stdout, shown.stderr
    created = run_vv(["bootstrap"], env, tmp_path)       # bootstrap is the one command that creates it
    assert created.returncode == 0, created.stderr
    assert (typo / "input").is_dir()


@pytest.mark.parametrize("contents", ["empty", "foreign"])
def test_an_existing_root_that_is_no_storage_tree_is_refused(cli_env, tmp_path, contents):
    """An empty mount point (the NFS share or USB disk did not mount) or a typo that happens to exist:
    every box command refuses it, nothing is written underneath; `vv bootstrap` makes it a storage tree."""
    mount_point = tmp_path / "mnt" / "vv"
    mount_point.mkdir(parents=True)
    if contents == "foreign":
        (mount_point / "notes.txt").write_text("someone else's folder\n")
    before = sorted(p.name for p in mount_point.rglob("*"))
    env = {**cli_env, "VIDEO_STORAGE_ROOT": str(mount_point)}
    says = "is empty" if contents == "empty" else "has no input/ or state/"
    for command in (("orchestrate", "--once"), ("schedule", "--once"), ("status",), ("up",), ("serve",),
                    ("cleanup",), ("backup",)):
        assert_one_line(run_vv(command, env, tmp_path), f"VIDEO_STORAGE_ROOT {mount_point} {says}",
                        "mount the disk", "vv bootstrap")
    assert sorted(p.name for p in mount_point.rglob("*")) == before      # nothing written into the mount point
    created = run_vv(["bootstrap"], env, tmp_path)
    assert created.returncode == 0, created.stderr
    status = run_vv(["status", "--json"], env, tmp_path)
    assert status.returncode == 0, status.stderr


def test_an_offline_model_install_names_the_url(cli_env, tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]     # nothing listens once the socket closes
    url = f"https://127.0.0.1:{port}/models/tiny.gguf"
    entry = {"name": "tiny", "kind": "llm", "version": "1", "file": "tiny.gguf", "sha256": "0" * 64,
             "size_bytes": 10, "source": url + "?token=abc", "default": True}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"schema_version": "1.0", "models": [entry]}))
    result = run_vv(["model", "install", "tiny", "--manifest", str(manifest), "--models-dir", str(tmp_path / "m")],
                    cli_env, REPO_ROOT)
    line = assert_one_line(result, f"could not fetch {url}: cannot reach it", "network")
    assert "token=abc" not in line
