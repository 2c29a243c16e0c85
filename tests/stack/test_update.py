"""`vv update` on the real stack (the session's running one: no second `compose up`): the images the
stack test built carry the inputs hash `vv update` computes, and a deliberately broken image of one
service is rolled back automatically while the other containers are left alone."""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, repo_env
from tests.stack.conftest import PROJECT, REPORT
from tests.stack.test_stack import SERVICES, container_state
from tests.webhook_server import WebhookServer

pytestmark = pytest.mark.slow
SERVICE = "playlist_manager"   # small, and nothing depends on it (nginx restarts with tv_api)
START_PERIOD_S = 30            # docker-compose.yml: the stage default
# The new image's program exits at once (a broken release): the container crash-loops.
BROKEN = f"services:\n  {SERVICE}:\n    build:\n      args:\n        COMMAND: \"false\"\n"


def vv_update(stack, project_dir: Path, *args: str, extra_files: tuple[Path, ...] = (), webhook: str = "",
              timeout: float = 600) -> subprocess.CompletedProcess:
    files = [project_dir / "docker-compose.yml", project_dir / "tests/stack/docker-compose.stack-test.yml",
             *extra_files]
    command = [sys.executable, "-m", "vv_cli.main", "update", "--json", "-p", PROJECT,
               "--project-dir", str(project_dir), *[part for f in files for part in ("-f", str(f))], *args]
    env = repo_env(**{k: v for k, v in stack.compose_env.items() if k != "PYTHONPATH"},
                   ALERT_WEBHOOK_URL=webhook, ALERT_WEBHOOK_FORMAT="generic", ALERT_RETRIES="0")
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=project_dir, timeout=timeout,
                          check=False)


def test_the_built_images_are_up_to_date_for_vv_update(stack):
    result = vv_update(stack, REPO_ROOT, "--plan")
    assert result.returncode == 0, result.stderr
    rows = {row["service"]: row for row in json.loads(result.stdout)["rows"]}
    assert set(rows) == set(SERVICES)
    stale = {name: (row["current"], row["new"]) for name, row in rows.items() if row["action"] != "up-to-date"}
    assert stale == {}, stale


def test_a_broken_image_is_rolled_back_and_the_rest_is_left_alone(stack):
    from tests.stack.images import staged_context

    before = {name: container_state(stack, name) | {"Id": container_id(stack, name)} for name in SERVICES}
    old_image = stack.engine.docker("inspect", "-f", "{{.Image}}", SERVICE).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="vv-update.") as staging, WebhookServer() as webhook:
        # The box's checkout with only this image's wheels (the classic builder uploads the context).
        project = staged_context("box", "scheduler", Path(staging))
        broken = Path(staging) / "broken.yml"
        broken.write_text(BROKEN)
        plan = vv_update(stack, project, SERVICE, "--plan", extra_files=(broken,))
        assert plan.returncode == 0, plan.stderr
        assert [(r["service"], r["action"]) for r in json.loads(plan.stdout)["rows"]] == [(SERVICE, "rebuild")]

        started = time.monotonic()
        result = vv_update(stack, project, SERVICE, "--grace", "60", extra_files=(broken,), webhook=webhook.url)
        elapsed = time.monotonic() - started
        events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
        assert result.returncode == 1, result.stdout + result.stderr[-3000:]
        document = json.loads(result.stdout)
        alerts = webhook.bodies()
    new_image = next(e["image_id"] for e in events if e.get("event") == "update_built")
    try:
        assert document["rolled_back"] == [SERVICE]
        assert [(r["service"], r["action"], r["result"]) for r in document["rows"]] == [
            (SERVICE, "rebuild", "rolled back")]
        unhealthy = next(e for e in events if e.get("event") == "update_unhealthy")
        assert "crash loop" in unhealthy["reason"], unhealthy
        rollback_s = document["timings_s"]["recreate to rollback complete"]
        assert rollback_s <= START_PERIOD_S + 60, document["timings_s"]
        REPORT["timings_s"]["update: build broken image"] = document["timings_s"][f"build {SERVICE}"]
        REPORT["timings_s"]["update: recreate to failure seen"] = unhealthy["seconds"]
        REPORT["timings_s"]["update: recreate to rollback complete"] = rollback_s
        REPORT["timings_s"]["update: whole vv update run"] = elapsed

        # The pipeline runs on the old image again, healthy; nothing else was recreated or restarted.
        state = container_state(stack, SERVICE)
        assert stack.engine.docker("inspect", "-f", "{{.Image}}", SERVICE).stdout.strip() == old_image != new_image
        assert state["Status"] == "running" and state["Health"]["Status"] == "healthy", state.get("Health")
        for name in SERVICES:
            if name != SERVICE:
                after = container_state(stack, name)
                assert (container_id(stack, name), after["StartedAt"]) == (before[name]["Id"],
                                                                          before[name]["StartedAt"]), name
        previous = stack.engine.docker("image", "inspect", "-f", "{{.Id}}",
                                       "vv-video-ai/playlist_manager:previous").stdout.strip()
        assert previous == old_image
        assert any("update of playlist_manager rolled back" in json.dumps(body) for body in alerts), alerts
        assert any(e.get("event") == "update_rolled_back" for e in events)
    finally:  # the engine's cache keeps no broken image or extra tag
        stack.engine.docker("image", "rm", "vv-video-ai/playlist_manager:previous", check=False)
        stack.engine.docker("image", "rm", new_image, check=False)


def container_id(stack, name: str) -> str:
    return stack.engine.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()


# A change of playlist_manager's inputs that needs no build here: one more build arg (args are inputs).
CHANGED = f"services:\n  {SERVICE}:\n    build:\n      args:\n        VV_STACK_TEST_RELEASE: \"2\"\n"
# Probe every 2 s, not 30 (engine 20.10 ignores start_interval): healthy in seconds after a recreate.
# Container config, not an image input: the hash stays the checkout's.
QUICK_PROBE = f"services:\n  {SERVICE}:\n    healthcheck:\n      interval: 2s\n"


def test_vv_update_pulls_from_a_site_registry_and_refuses_another_version(stack, tmp_path):
    """The registry holds the release built elsewhere: `vv update --registry` pulls it instead of
    building, and the container runs it; an image whose inputs hash is not this checkout's (the
    registry is behind) and an unreachable registry are refused with nothing changed (exit 2)."""
    from tests.stack.conftest import free_port
    from tests.stack.node import Registry

    changed, quick = tmp_path / "changed.yml", tmp_path / "quick-probe.yml"
    changed.write_text(CHANGED)
    quick.write_text(QUICK_PROBE)
    plan = vv_update(stack, REPO_ROOT, SERVICE, "--plan", "--registry", "127.0.0.1:1", extra_files=(changed,))
    assert plan.returncode == 0, plan.stderr
    [row] = json.loads(plan.stdout)["rows"]
    assert row["action"] == "pull" and row["current"] != row["new"], row
    image, new_hash = row["image"], row["new"]
    old_image = stack.engine.docker("inspect", "-f", "{{.Image}}", SERVICE).stdout.strip()
    before = (container_id(stack, SERVICE), container_state(stack, SERVICE)["StartedAt"])
    registry = Registry("127.0.0.1", free_port()).start()
    prefix = f"{registry.prefix}vvupdate/"  # its own path: the swarm test's tags in the cached registry stay
    release = None
    try:
        # Unreachable: nothing listens on the port (the registry's own port + nothing).
        down = vv_update(stack, REPO_ROOT, SERVICE, "--registry", f"127.0.0.1:{free_port()}", extra_files=(changed,))
        assert down.returncode == 2 and "cannot pull" in down.stderr and "nothing was changed" in down.stderr, \
            down.stderr[-2000:]
        # Behind: the registry holds the image the box runs now (the old inputs hash).
        stack.engine.docker("tag", old_image, prefix + image)
        stack.engine.docker("push", "-q", prefix + image, timeout=600)
        stack.engine.docker("image", "rm", prefix + image)
        behind = vv_update(stack, REPO_ROOT, SERVICE, "--registry", prefix, extra_files=(changed,))
        assert behind.returncode == 2 and "the registry holds another version" in behind.stderr, behind.stderr[-2000:]
        assert (container_id(stack, SERVICE), container_state(stack, SERVICE)["StartedAt"]) == before
        assert stack.engine.docker("image", "inspect", "-f", "{{.Id}}", image).stdout.strip() == old_image

        # The release: the running image relabelled with the new hash (a build elsewhere, in seconds here).
        built = subprocess.run(["docker", "build", "-q", "-t", prefix + image, "-"], env=stack.engine.env(),
                               input=f"FROM {image}\nLABEL org.vv.inputs-sha256={new_hash}\n",
                               capture_output=True, text=True, timeout=300, check=True)
        release = built.stdout.strip()
        stack.engine.docker("push", "-q", prefix + image, timeout=600)
        stack.engine.docker("image", "rm", prefix + image)  # gone here: `vv update` must pull it
        assert stack.engine.docker("image", "inspect", release, check=False).returncode != 0
        started = time.monotonic()
        result = vv_update(stack, REPO_ROOT, SERVICE, "--registry", prefix, "--grace", "60",
                           extra_files=(changed, quick))
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        REPORT["timings_s"]["update: pull + recreate + healthy"] = time.monotonic() - started
        document = json.loads(result.stdout)
        assert [(r["service"], r["action"], r["result"]) for r in document["rows"]] == [(SERVICE, "pull", "updated")]
        assert stack.engine.docker("inspect", "-f", "{{.Image}}", SERVICE).stdout.strip() == release
        assert stack.engine.docker("image", "inspect", "-f", "{{.Id}}", image).stdout.strip() == release
        assert container_state(stack, SERVICE)["Health"]["Status"] == "healthy"
    finally:
        registry.stop()
        # Back on the stack's own image (the plan of the unchanged checkout must be up to date again).
        stack.engine.docker("tag", old_image, image)
        restored = vv_update(stack, REPO_ROOT, SERVICE, extra_files=(quick,))
        stack.engine.docker("image", "rm", f"{image.rsplit(':', 1)[0]}:previous", prefix + image, check=False)
        if release:
            stack.engine.docker("image", "rm", release, check=False)
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert stack.engine.docker("inspect", "-f", "{{.Image}}", SERVICE).stdout.strip() == old_image
