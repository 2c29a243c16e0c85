"""`vv update --plan` without Docker: the input hash of each image from a real copy of this checkout
(its docker-compose.yml, deploy/Dockerfile, .dockerignore and code), and which images a change makes
stale. The engine side (rebuild, recreate, rollback) is tests/stack/test_update.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops.update.inputs import image_inputs, instructions
from ops.update.stack import Project, duration_s, registry_prefix
from ops.update.update import new_hashes, plan
from tests.deploy.tools import compose_env, tracked
from tests.helpers import REPO_ROOT, repo_env

STAGE_IMAGES = {"video_capture", "scene_scanner", "scene_summarizer", "logline_writer", "playlist_manager", "tv_api"}


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A hard-linked copy of the tracked tree (edit files only through `replace`), and compose's env."""
    root = tmp_path / "box"
    for source in tracked("."):
        target = root / source.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            os.link(source, target)
    for key in list(os.environ):
        if key.startswith(("VV_", "COMPOSE_", "DOCKER_")):
            monkeypatch.delenv(key)
    for key, value in compose_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    return root


def replace(path: Path, text: str) -> None:
    """A new file at ``path`` (never writing through a hard link into the real checkout)."""
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def hashes(root: Path) -> dict[str, str]:
    return new_hashes(Project(root).services())


def stale_after(root: Path, change) -> dict[str, str]:
    """{service: action} for every service a change makes act, as `vv update` plans it."""
    services = Project(root).services()
    before = new_hashes(services)
    builder_of = {s.image: name for name, s in services.items() if s.build}
    current = {name: before[builder_of[s.image]] for name, s in services.items()}  # every image current
    change(root)
    rows = plan(services := Project(root).services(), new_hashes(services), current, dict(before))
    return {row.service: row.action for row in rows if row.action != "up-to-date"}


def append(relative: str, line: str = "\n# changed\n"):
    def change(root: Path) -> None:
        path = root / relative
        replace(path, path.read_text() + line)
    return change


def test_a_stage_file_change_makes_only_that_stage_stale(checkout):
    assert stale_after(checkout, append("tv_scheduler/__init__.py")) == {"playlist_manager": "rebuild"}


def test_a_kernel_change_makes_every_stage_image_stale_and_not_nginx(checkout):
    changed = stale_after(checkout, append("vv-core/vv_core/errors.py"))
    assert {name for name, action in changed.items() if action == "rebuild"} == STAGE_IMAGES
    assert changed["mirror"] == "recreate"  # it runs tv_api's image
    assert "nginx" not in changed


def test_stage_code_of_one_image_reaches_that_image_and_who_shares_it(checkout):
    assert stale_after(checkout, append("tv_ui/tv.html", "<!-- changed -->\n")) == {"tv_api": "rebuild",
                                                                                     "mirror": "recreate"}


def test_the_nginx_recipe_and_config_make_only_nginx_stale(checkout):
    assert stale_after(checkout, append("nginx/templates/vv_proxy_params")) == {"nginx": "rebuild"}


def test_a_new_file_in_a_stage_counts_and_an_ignored_one_does_not(checkout):
    assert stale_after(checkout, lambda root: replace(root / "scan_video" / "new_module.py", "X = 1\n")) == {
        "scene_scanner": "rebuild"}
    ignored = [lambda root: replace(root / "scan_video" / "__pycache__" / "x.cpython-311.pyc", "junk"),
               lambda root: replace(root / "tests" / "scan_video" / "test_new.py", "pass\n"),
               lambda root: replace(root / "docs" / "new.md", "text\n")]
    for change in ignored:
        assert stale_after(checkout, change) == {}


def test_the_dockerfile_and_build_args_are_inputs(checkout, monkeypatch):
    assert set(stale_after(checkout, append("deploy/Dockerfile"))) == STAGE_IMAGES | {"mirror"}
    before = hashes(checkout)
    monkeypatch.setenv("VV_UID", "10002")  # a build arg of every image, nginx's too
    after = hashes(checkout)
    assert all(before[name] != after[name] for name in before)


def test_the_hash_is_stable_and_independent_of_where_the_box_lives(checkout, tmp_path):
    first = hashes(checkout)
    assert hashes(checkout) == first
    moved = tmp_path / "elsewhere"
    checkout.rename(moved)
    assert hashes(moved) == first


def test_the_stage_recipe_keeps_only_what_its_cp_line_picks(checkout):
    services = Project(checkout).services()
    build = services["playlist_manager"].build
    files = image_inputs(Path(build["context"]), build["dockerfile"], build["args"]).files
    assert "tv_scheduler/__init__.py" in files and "vv-core/vv_core/errors.py" in files
    assert "deploy/Dockerfile" not in files  # the recipe is hashed as the recipe, not as a copied file
    assert not [f for f in files if f.startswith(("tv_api/", "scan_video/", "tests/", "docs/"))]
    # The picked list is the recipe's own line: a folder added to SHARED_CODE is an input at once.
    parsed = instructions((checkout / "deploy/Dockerfile").read_text())
    assert any(k == "RUN" and "cp -a --parents pyproject.toml ${SHARED_CODE}" in rest for k, rest in parsed)


def test_an_image_built_but_not_started_is_recreated_not_rebuilt(checkout):
    services = Project(checkout).services()
    new = new_hashes(services)
    current = {name: new.get(name, new["tv_api"]) for name in services} | {"logline_writer": "old"}
    rows = {row.service: row for row in plan(services, new, current, dict(new))}
    assert rows["logline_writer"].action == "recreate"
    assert {r.service for r in rows.values() if r.action != "up-to-date"} == {"logline_writer"}
    only = plan(services, new, current, dict(new), only=["tv_api"], force=True)
    assert {(r.service, r.action) for r in only} == {("tv_api", "rebuild"), ("mirror", "recreate")}


def test_a_service_named_alone_brings_the_service_that_builds_its_image(checkout):
    services = Project(checkout).services()
    new = new_hashes(services)
    current = {name: new.get(name, new["tv_api"]) for name in services} | {"tv_api": "old", "mirror": "old"}
    rows = plan(services, new, current, {"tv_api": "old"}, only=["mirror"])
    assert {(r.service, r.action) for r in rows} == {("tv_api", "rebuild"), ("mirror", "recreate")}


def test_durations_as_compose_renders_them():
    assert duration_s("1m30s") == 90 and duration_s("500ms") == 0.5 and duration_s(None, 7) == 7
    with pytest.raises(ValueError):
        duration_s("30 seconds")


def test_vv_update_plan_runs_without_an_engine(checkout, tmp_path):
    env = repo_env(DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", VIDEO_STORAGE_ROOT=str(tmp_path / "none"))
    command = [sys.executable, "-m", "vv_cli.main", "update", "--plan", "--json", "--project-dir", str(checkout)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "recorded hashes are unknown" in result.stderr
    document = json.loads(result.stdout)
    rows = {row["service"]: row for row in document["rows"]}
    assert document["plan_only"] and set(rows) == STAGE_IMAGES | {"mirror", "nginx"}
    assert rows["playlist_manager"]["new"] == hashes(checkout)["playlist_manager"]
    assert all(row["action"] in ("rebuild", "recreate") and row["current"] is None for row in rows.values())
    wrong = subprocess.run([*command, "no_such_service"], capture_output=True, text=True, env=env, timeout=120,
                           check=False)
    assert wrong.returncode == 2 and "no such service: no_such_service" in wrong.stderr


def test_the_registry_names_the_same_prefix_swarm_takes():
    assert registry_prefix("registry.site:5000") == "registry.site:5000/"
    assert registry_prefix("http://10.0.0.2:5000/") == "10.0.0.2:5000/"
    assert registry_prefix("registry.site:5000/vv/") == "registry.site:5000/vv/"
    for bad in ("", " / ", "host :5000"):
        with pytest.raises(ValueError, match="not a registry"):
            registry_prefix(bad)


def test_with_a_registry_stale_images_are_pulled_and_who_shares_them_recreated(checkout, tmp_path):
    env = repo_env(DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", VIDEO_STORAGE_ROOT=str(tmp_path / "none"),
                   UPDATE_REGISTRY="registry.site:5000")
    command = [sys.executable, "-m", "vv_cli.main", "update", "--plan", "--json", "--project-dir", str(checkout)]
    result = subprocess.run([*command, "tv_api"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert {(r["service"], r["action"]) for r in json.loads(result.stdout)["rows"]} == {
        ("tv_api", "pull"), ("mirror", "recreate")}
    # `--registry ""` overrides the setting: build here, offline.
    local = subprocess.run([*command, "--registry", "", "tv_api"], capture_output=True, text=True, env=env,
                           timeout=120, check=False)
    assert local.returncode == 0, local.stderr
    assert {(r["service"], r["action"]) for r in json.loads(local.stdout)["rows"]} == {
        ("tv_api", "rebuild"), ("mirror", "recreate")}
