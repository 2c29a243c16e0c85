"""The stack's contract: every service is bounded, supervised and healthchecked; every image is
non-root, labelled, built from the one recipe on ARG BASE_IMAGE with only its own stage's dependencies
and code."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.deploy.tools import compose_env, tool, tracked
from tests.helpers import REPO_ROOT

RECIPE = "deploy/Dockerfile"  # the one recipe of every stage image
# compose service → (stage folder, requirements/images/<name>.txt, ops.upkeep.container_health check)
STAGE_IMAGES = {
    "video_capture": ("agent_dvr", "capture", "capture"),
    "scene_scanner": ("scan_video", "scan", "scan"),
    "scene_summarizer": ("summarize_scene", "summarize", "summarize"),
    "logline_writer": ("logline_generator", "logline", "logline"),
    "playlist_manager": ("tv_scheduler", "scheduler", "schedule"),
    "tv_api": ("tv_api", "api", "api"),
}
SERVICES = {"video_capture", "scene_scanner", "scene_summarizer", "logline_writer", "playlist_manager",
            "tv_api", "mirror", "nginx", "watchtower"}


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compose")
    result = subprocess.run(
        [tool("docker-compose"), "--project-directory", str(REPO_ROOT), "--profile", "autoupdate",
         "config", "--format", "json"],
        capture_output=True, text=True, env=compose_env(tmp), cwd=REPO_ROOT, check=True)
    document = json.loads(result.stdout)
    document["x-test-storage"] = tmp / "storage"
    return document


def test_every_service_is_bounded_supervised_and_rotated(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service.get("mem_limit"), name
        assert float(service.get("cpus", 0)) > 0, name
        assert service.get("init") is True, name
        assert service.get("restart") in {"always", "on-failure", "unless-stopped"}, name
        logging = service["logging"]
        assert logging["driver"] == "json-file" and logging["options"]["max-size"], name
        if name != "watchtower":
            health = service["healthcheck"]
            assert health["test"] and health["start_period"], name


def test_storage_root_is_shared_at_the_same_path_and_secrets_are_docker_secrets(compose, tmp_path):
    services = compose["services"]
    for name in ("video_capture", "scene_scanner", "scene_summarizer", "logline_writer", "playlist_manager",
                 "tv_api", "mirror"):
        mounts = {v["target"]: v for v in services[name]["volumes"]}
        assert mounts["/data"]["source"] == str(tmp_path_storage(compose)), name
        assert mounts["/models"]["read_only"] is True, name
        environment = services[name]["environment"]
        assert (environment["VIDEO_STORAGE_ROOT"], environment["MODELS_DIR"]) == ("/data", "/models")
        assert environment["KEY_STORE_PATH"] == "/run/secrets/logline_keys"
        assert services[name]["container_name"] == name  # the docker runner addresses them by name
    # the writer signs LogLines and checkpoints; the scheduler verifies LogLines
    assert [s["source"] for s in services["logline_writer"]["secrets"]] == ["logline_keys", "checkpoint_keys"]
    assert services["logline_writer"]["environment"]["CHECKPOINT_KEY_STORE_PATH"] == "/run/secrets/checkpoint_keys"
    assert [s["source"] for s in services["playlist_manager"]["secrets"]] == ["logline_keys"]
    assert {"logline_keys", "checkpoint_keys"} <= set(compose["secrets"])


def tmp_path_storage(compose):
    return compose["x-test-storage"]


def test_watchtower_is_opt_in():
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    block = text[text.index("  watchtower:"):]
    assert "profiles: [autoupdate]" in block


@pytest.mark.parametrize("dockerfile", [RECIPE, "deploy/nginx/Dockerfile"])
def test_dockerfile_shape(dockerfile):
    text = (REPO_ROOT / dockerfile).read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S+", text, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}", text, re.M)
    assert re.search(r"^USER \S*\d|^USER \$\{VV_UID\}", text, re.M), "non-root, numeric user"
    assert "HEALTHCHECK" in text
    assert 'org.opencontainers.image.version="${VV_VERSION}"' in text


def test_there_is_one_stage_recipe():
    dockerfiles = {str(path.relative_to(REPO_ROOT)) for path in tracked("Dockerfile", "*/Dockerfile", "**/Dockerfile")}
    assert dockerfiles == {RECIPE, "deploy/nginx/Dockerfile"}


def test_there_is_one_nginx_config_and_the_compose_image_renders_it(compose):
    """issue 16: the compose front is nginx/ rendered with deploy/nginx/compose.env, not a second file."""
    sys.path.insert(0, str(REPO_ROOT / "nginx"))
    from render_config import read_values

    configs = {str(path.relative_to(REPO_ROOT)) for path in tracked("*nginx*.conf", "**/*nginx*.conf")}
    assert configs == {"nginx/nginx.conf"}
    dockerfile = (REPO_ROOT / "deploy" / "nginx" / "Dockerfile").read_text()
    assert "render_config.py --values /src/compose.env" in dockerfile
    assert "COPY --from=render /out/ /etc/nginx/" in dockerfile
    values = read_values(REPO_ROOT / "deploy" / "nginx" / "compose.env")
    service = compose["services"]["nginx"]
    # The rendered port is the one compose maps and the image probes; tv_api and the mirror by name.
    assert [port["target"] for port in service["ports"]] == [int(values["VV_HTTP_PORT"])]
    assert f"EXPOSE {values['VV_HTTP_PORT']}" in dockerfile and f"127.0.0.1/{values['VV_HTTP_PORT']}" in dockerfile
    assert (values["VV_TV_API_UPSTREAM"], values["VV_MIRROR_UPSTREAM"]) == ("tv_api:8000", "mirror:8000")
    assert {"tv_api", "mirror"} <= set(service["depends_on"])
    assert all(service["depends_on"][name]["restart"] for name in ("tv_api", "mirror"))
    # Media are served from the storage root as the stages see it, which nginx can only read.
    mounts = {v["target"]: v for v in service["volumes"]}
    assert values["VV_STORAGE_ROOT"] == "/data"
    assert mounts["/data"]["source"] == str(tmp_path_storage(compose))
    assert mounts["/data"]["read_only"] is True
    assert service["build"]["args"]["VV_UID"] == compose["services"]["tv_api"]["build"]["args"]["VV_UID"]


@pytest.mark.parametrize(("service", "spec"), STAGE_IMAGES.items())
def test_every_stage_image_is_the_recipe_with_its_own_stage(compose, service, spec):
    folder, requirements, check = spec
    build = compose["services"][service]["build"]
    args = build["args"]
    assert build["dockerfile"] == RECIPE
    assert (args["STAGE"], args["REQUIREMENTS"], args["HEALTH_CHECK"]) == spec
    assert (REPO_ROOT / folder / "__init__.py").is_file()
    assert (REPO_ROOT / "requirements" / "images" / f"{requirements}.txt").is_file()
    assert args["SERVICE"] == service == compose["services"][service]["container_name"]
    # the image's own HEALTHCHECK and compose's run the same check
    assert compose["services"][service]["healthcheck"]["test"][-1] == check
    for extra in args.get("STAGE_CODE", "").split():
        assert (REPO_ROOT / extra).is_dir(), extra
    assert not set(args.get("STAGE_CODE", "").split()) & {f for f, _, _ in STAGE_IMAGES.values()}


def test_the_recipe_installs_only_the_stages_requirements_and_copies_only_its_code():
    text = (REPO_ROOT / RECIPE).read_text()
    build_stage, code_stage, image = re.split(r"^FROM \$\{BASE_IMAGE\}.*$", text, flags=re.M)[1:]
    assert 'install_python_deps.sh "${REQUIREMENTS}"\n' in build_stage
    assert "COPY wheelhouse/README.md wheelhouse/${REQUIREMENTS}* " in build_stage
    assert len(re.findall(r"^RUN .*install_python_deps.sh", text, re.M)) == 1  # no other requirements
    assert "wheelhouse" not in image  # wheels stay in the build stage
    # the image gets the venv and the picked code, nothing else from the context
    assert re.findall(r"^COPY .*", image, re.M) == ["COPY --from=deps /opt/vv/venv /opt/vv/venv",
                                                   "COPY --from=code /app/ /opt/vv/app/"]
    assert shared_code()[:4] == ["vv-core", "schemas", "vv_cli", "transparency"]
    assert not {"ops", "orchestrator", "tools", "scripts"} & set(shared_code())  # only the health check's files
    assert '"${STAGE}" ${STAGE_CODE} /app/' in code_stage


def shared_code() -> list[str]:
    return re.search(r'^ARG SHARED_CODE="([^"]*)"', (REPO_ROOT / RECIPE).read_text(), re.M).group(1).split()


def image_app(tmp_path, args) -> Path:
    """The /opt/vv/app of an image, as the recipe's code stage picks it."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", app)
    for path in [*shared_code(), args["STAGE"], *args.get("STAGE_CODE", "").split()]:  # cp --parents
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        if (REPO_ROOT / path).is_file():
            shutil.copy(REPO_ROOT / path, app / path)
        else:
            shutil.copytree(REPO_ROOT / path, app / path, ignore=shutil.ignore_patterns("__pycache__"),
                            dirs_exist_ok=True)
    return app


# Runs `vv ARGS` on the image's code only: `python -S` skips the venv's .pth files, among them the
# editable install that maps every package of the checkout; site-packages come back on PYTHONPATH.
IN_IMAGE = """
import sys
import importlib.util
assert importlib.util.find_spec("tests") is None, "the checkout is on the path"
import ops.upkeep.container_health
sys.argv = ["vv", *sys.argv[1:]]
from vv_cli.main import main
main()
"""
STAGE_COMMANDS = {"capture": "capture", "scan": "scan", "summarize": "summarize", "logline": "logline",
                  "schedule": "schedule", "api": "serve"}


@pytest.mark.parametrize("service", STAGE_IMAGES)
def test_each_images_code_runs_vv_and_its_own_command(compose, tmp_path, service):
    args = compose["services"][service]["build"]["args"]
    app = image_app(tmp_path, args)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VV_", "COV"))}
    env["PYTHONPATH"] = f"{app}:{app / 'vv-core'}:{sysconfig.get_paths()['purelib']}"
    command = STAGE_COMMANDS[args["HEALTH_CHECK"]]
    for argv in (["--help"], [command, "--help"]):
        result = subprocess.run([sys.executable, "-S", "-c", IN_IMAGE, *argv], capture_output=True, text=True,
                                cwd=app, env=env, timeout=120, check=False)
        assert result.returncode == 0, f"{service}: vv {' '.join(argv)}\n{result.stderr[-2000:]}"
    assert f" {command} " in subprocess.run([sys.executable, "-S", "-c", IN_IMAGE, "--help"], capture_output=True,
                                            text=True, cwd=app, env=env, timeout=120, check=False).stdout


def read_pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_image_pins_agree_with_the_project_pins():
    project = {}
    for name in ("base.txt", "ml.txt", "nodeps.txt", "dev.txt", "api.txt", "host.txt"):
        if (REPO_ROOT / "requirements" / name).is_file():
            project.update(read_pins(REPO_ROOT / "requirements" / name))
    for path in sorted((REPO_ROOT / "requirements" / "images").glob("*.txt")):
        for name, version in read_pins(path).items():
            if name in project:  # a stage's pins arrive with its branch; then they must agree
                assert project[name] == version, f"{path.name}: {name}=={version} vs project {project[name]}"


def test_scanner_image_has_no_torch():
    pins = read_pins(REPO_ROOT / "requirements/images/scan.txt")
    assert "onnxruntime" in pins
    assert not {"torch", "torchvision", "ultralytics", "ultralytics-opencv-headless"} & set(pins)
