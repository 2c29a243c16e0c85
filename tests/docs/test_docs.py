"""The docs cannot rot: every shell block runs (or says why it cannot), links resolve, the
configuration tables are generated from the settings model."""

import re
import subprocess
import sys
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from tests.docs.doc_runner import ApiServer, documents, make_sandbox, run_block, seed_box, shell_blocks
from tests.helpers import REPO_ROOT, repo_env

DOCS = documents()
REQUIRED_DOCS = ["operator-guide.md", "configuration.md", "security.md", "disaster-recovery.md",
                 "architecture.md", "monitoring.md"]


def test_required_documents_exist_and_readme_links_them_all():
    readme = (REPO_ROOT / "README.md").read_text()
    for name in REQUIRED_DOCS:
        assert (REPO_ROOT / "docs" / name).is_file(), name
    for doc in (REPO_ROOT / "docs").glob("*.md"):
        assert f"(docs/{doc.name}" in readme, f"README does not link docs/{doc.name}"


@pytest.mark.parametrize("document", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(document):
    text = document.read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"^[a-z]+:", target):
            continue   # http(s), mailto: not checked offline
        assert (document.parent / target).exists(), f"{document.name}: broken link {target}"


def test_every_shell_block_is_bash_and_every_skip_says_why():
    for document in DOCS:
        for block in shell_blocks(document):
            assert block.language == "bash", f"{block.where}: use ```bash so the doc runner executes it"
            if block.is_marked_skip:
                assert block.skip_reason, f"{block.where}: `# doc-test: skip — <why>` needs its reason"


def test_not_runnable_blocks_are_few_and_listed(capsys):
    skipped = [(b.where, b.skip_reason) for d in DOCS for b in shell_blocks(d) if b.is_marked_skip]
    runnable = [b for d in DOCS for b in shell_blocks(d) if not b.is_marked_skip]
    with capsys.disabled():
        print(f"\n{len(runnable)} runnable doc blocks; not runnable here ({len(skipped)}):")
        for where, reason in skipped:
            print(f"  {where}: {reason}")
    assert len(runnable) > 2 * len(skipped)


@pytest.mark.slow
@pytest.mark.parametrize("document", [d for d in DOCS if any(not b.is_marked_skip for b in shell_blocks(d))],
                         ids=lambda p: p.name)
def test_document_commands_run(document, tmp_path):
    sandbox = make_sandbox(tmp_path)
    seed_box(sandbox)
    server: ApiServer | None = None
    try:
        for block in shell_blocks(document):
            if block.is_marked_skip:
                continue
            if block.needs_stack and server is None:
                server = ApiServer(sandbox)
            result = run_block(block, sandbox, {"VV_API": server.url} if server else None)
            assert result.returncode == block.expected_exit, (
                f"{block.where} exited {result.returncode} (expected {block.expected_exit})\n"
                f"--- block ---\n{block.code}--- stdout ---\n{result.stdout[-3000:]}"
                f"--- stderr ---\n{result.stderr[-3000:]}"
            )
    finally:
        if server is not None:
            server.stop()


def test_configuration_tables_are_generated_from_the_settings_model():
    result = subprocess.run([sys.executable, "-m", "tools.gen_config_docs", "--check"], env=repo_env(),
                            cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr


def test_config_doc_generator_flags_a_stale_doc(tmp_path):
    from tools.gen_config_docs import BEGIN, END, main, render_tables

    stale = tmp_path / "configuration.md"
    stale.write_text(f"# Configuration\n\n{BEGIN}\n| old |\n{END}\n\nrest\n")
    assert main(["--check", "--doc", str(stale)]) == 1
    assert main(["--doc", str(stale)]) == 0
    assert main(["--check", "--doc", str(stale)]) == 0
    text = stale.read_text()
    assert "`VIDEO_STORAGE_ROOT`" in text and "`RESTIC_REPOSITORY`" in text and text.endswith("\n\nrest\n")
    tables = render_tables("# --- core ---\nLOG_LEVEL=INFO\nNOT_A_SETTING=1\n")
    assert "not a setting" in tables and "### not yet in .env.example" in tables


class _Camera(BaseModel):
    url: str = Field(description="RTSP URL | or file.")
    fps: float | None = Field(None, description="Frames per second.")


class _Rules(BaseModel):
    mode: Literal["fast", "slow"] = Field("fast", description="Speed.")
    cameras: dict[str, _Camera] = Field(default_factory=dict, description="By name.")
    fallbacks: list[_Camera] = Field(default_factory=list, description="Tried in order.")
    limits: tuple[int, int] = Field((1, 2), description="Min and max.")
    main: _Camera | None = Field(None, description="The main camera.")


def test_rule_file_tables_walk_nested_models():
    from tools.gen_config_docs import render_rule_files

    text = render_rule_files([("demo/config.yaml", f"{__name__}:_Rules")])
    assert text.startswith(f"### `demo/config.yaml` ({__name__}._Rules)")
    rows = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == {"mode", "cameras", "cameras.<name>.url", "cameras.<name>.fps", "fallbacks",
                         "fallbacks[].url", "fallbacks[].fps", "limits", "main", "main.url", "main.fps"}
    assert "`fast` \\| `slow`" in rows["mode"] and "*(required)*" in rows["cameras.<name>.url"]
    assert "RTSP URL \\| or file." in rows["cameras.<name>.url"]
    assert "dict[str, mapping]" in rows["cameras"] and "*(computed)*" in rows["cameras"]
    assert "tuple[int, int]" in rows["limits"] and "float \\| null" in rows["cameras.<name>.fps"]
    assert render_rule_files([]) == "*(no rule files yet)*\n"
