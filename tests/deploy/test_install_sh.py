"""install.sh against a scratch root: --dry-run changes nothing, a real run installs, the second run
changes nothing, updates fast-forward, and every failure is loud and names its step."""

import hashlib
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow
INSTALL = str(REPO_ROOT / "install.sh")
OFFLINE = ["--no-apt", "--no-stack", "--no-models"]


def install_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VV_") and k not in {"VIDEO_STORAGE_ROOT", "KEY_STORE_PATH", "MODELS_DIR"}}
    env.pop("PYTHONPATH", None)
    env["VV_PYTHON"] = sys.executable  # the test venv has the runtime; a real install makes DIR/.venv
    return env


def run_install(root, source, *extra):
    return subprocess.run(["bash", INSTALL, "--root", str(root), "--repo", str(source), *OFFLINE, *extra],
                          capture_output=True, text=True, env=install_env(), timeout=300, check=False)


def snapshot(root):
    """Every path under root with its mode, owner and content hash (what 'changes nothing' means)."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            state[os.path.relpath(path, root)] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, digest)
    return state


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A repository to install from: a clone of this checkout, so the test can add commits to it."""
    src = tmp_path_factory.mktemp("src") / "repo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO_ROOT), str(src)], check=True)
    subprocess.run(["git", "-C", str(src), "config", "user.email", "t@example.invalid"], check=True)
    subprocess.run(["git", "-C", str(src), "config", "user.name", "t"], check=True)
    return src


@pytest.fixture(scope="module")
def installed(tmp_path_factory, source):
    root = tmp_path_factory.mktemp("root")
    first = run_install(root, source)
    assert first.returncode == 0, first.stdout + first.stderr
    return root, first


def test_help():
    result = subprocess.run(["bash", INSTALL, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "--dry-run" in result.stdout


def test_dry_run_on_a_fresh_root_changes_nothing(tmp_path, source):
    result = run_install(tmp_path, source, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"would run: git clone -q {source}" in result.stdout
    assert "dry run: nothing was changed" in result.stdout
    would = next(line for line in result.stdout.splitlines() if "would: " in line)
    assert all(unit in would for unit in ("vv-video-ai.service/.timer", "vv-update.service/.timer",
                                          "vv-diagnose.service/.timer", "/etc/cron.d/vv-video-ai")), would
    assert list(tmp_path.iterdir()) == []


def test_first_run_installs_everything(installed):
    root, first = installed
    box = root / "opt" / "vv-video-ai-system"
    assert (box / ".git").is_dir() and (box / ".env").stat().st_mode & 0o777 == 0o600
    env = dict(line.split("=", 1) for line in (box / ".env").read_text().splitlines() if line[:1].isupper())
    assert env["VIDEO_STORAGE_ROOT"] == str(box / "storage")
    assert (box / "storage" / "fallback" / "loop_silencioso.mp4").stat().st_uid == 10001
    assert (box / "secrets" / "logline_keys.json").stat().st_uid == 10001
    service = (root / "etc/systemd/system/vv-video-ai.service").read_text()
    assert f"WorkingDirectory={box}" in service and "/opt/vv-video-ai-system" not in service.replace(str(box), "")
    assert (root / "etc/systemd/system/vv-video-ai.timer").is_file()
    update = (root / "etc/systemd/system/vv-update.service").read_text()  # the weekly vv update + smoke
    assert f"--project-dir {box}" in update and f"{box}/scripts/run_tests.sh" in update
    assert "OnCalendar=" in (root / "etc/systemd/system/vv-update.timer").read_text()
    diagnose = (root / "etc/systemd/system/vv-diagnose.service").read_text()   # diagnosis every 5 minutes
    assert f"WorkingDirectory={box}" in diagnose and "ExecStart=/usr/bin/env vv diagnose --fix --apply" in diagnose
    assert "OnUnitActiveSec=5min" in (root / "etc/systemd/system/vv-diagnose.timer").read_text()
    cron = (root / "etc/cron.d/vv-video-ai").read_text()
    assert "vv orchestrate --once" in cron and f"cd {box} && " in cron and "cleanup --apply" in cron
    assert "vv diagnose --fix --apply" in cron   # the timer's fallback where systemd is not PID 1
    assert "fallback loop ok" in first.stdout and "DVR_IP ok" in first.stdout
    if not os.path.isdir("/run/systemd/system"):
        assert "NOT enabled" in first.stdout  # says plainly what it could not enable
        assert "vv-diagnose.service/.timer are installed" in first.stdout
        assert "vv diagnose runs from /etc/cron.d/vv-video-ai instead" in first.stdout


def test_second_run_changes_nothing(installed, source):
    root, _ = installed
    before = snapshot(root)
    second = run_install(root, source)
    assert second.returncode == 0, second.stderr
    assert "[install] 0 change(s) made" in second.stdout
    assert snapshot(root) == before
    dry = run_install(root, source, "--dry-run")
    assert dry.returncode == 0 and "0 change(s) would be made" in dry.stdout
    assert snapshot(root) == before


def test_update_fast_forwards_and_failures_are_loud(installed, source):
    root, _ = installed
    box = root / "opt" / "vv-video-ai-system"
    (source / "UPGRADE_NOTE.md").write_text("new release\n")
    subprocess.run(["git", "-C", str(source), "add", "UPGRADE_NOTE.md"], check=True)
    subprocess.run(["git", "-C", str(source), "commit", "-qm", "release"], check=True)
    updated = run_install(root, source)
    assert updated.returncode == 0, updated.stderr
    assert "changed: updated to" in updated.stdout and (box / "UPGRADE_NOTE.md").is_file()

    (box / "README.md").write_text("edited on the box\n")
    dirty = run_install(root, source)
    assert dirty.returncode == 1
    assert "FAILED during: repository" in dirty.stderr and "local changes" in dirty.stderr
    subprocess.run(["git", "-C", str(box), "checkout", "-q", "README.md"], check=True)

    env_file = box / ".env"
    text = env_file.read_text()
    env_file.write_text(text.replace("DVR_IP=127.0.0.1", "DVR_IP=999.1.1.1"))
    bad_ip = run_install(root, source)
    env_file.write_text(text)
    assert bad_ip.returncode == 1
    assert "FAILED during: validations" in bad_ip.stderr and "not a valid IPv4" in bad_ip.stderr


def test_unreachable_repository_fails_loudly(tmp_path):
    result = run_install(tmp_path / "root", tmp_path / "no-such-repo")
    assert result.returncode != 0
    assert "FAILED during: repository" in result.stderr and "VV_REPO_URL" in result.stderr


def test_unknown_option_fails_with_usage(tmp_path):
    result = run_install(tmp_path, tmp_path, "--frobnicate")
    assert result.returncode == 1 and "unknown option: --frobnicate" in result.stderr
