"""The stack's contract: every service is bounded, supervised and healthchecked; every image is
non-root, labelled, built on ARG BASE_IMAGE with only its own stage's dependencies."""

import json
import re
import subprocess

import pytest

from tests.deploy.tools import compose_env, tool
from tests.helpers import REPO_ROOT

STAGE_DOCKERFILES = {
    "agent_dvr": "capture", "scan_video": "scan", "summarize_scene": "summarize",
    "logline_generator": "logline", "tv_scheduler": "scheduler", "tv_api": "api",
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


@pytest.mark.parametrize("folder", [*STAGE_DOCKERFILES, "deploy/nginx"])
def test_dockerfile_shape(folder):
    text = (REPO_ROOT / folder / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S+", text, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}", text, re.M)
    assert re.search(r"^USER \S*\d|^USER \$\{VV_UID\}", text, re.M), "non-root, numeric user"
    assert "HEALTHCHECK" in text
    assert 'org.opencontainers.image.version="${VV_VERSION}"' in text


@pytest.mark.parametrize(("folder", "image"), STAGE_DOCKERFILES.items())
def test_each_image_installs_only_its_own_requirements(folder, image):
    text = (REPO_ROOT / folder / "Dockerfile").read_text()
    assert f"install_python_deps.sh {image}\n" in text
    assert f"COPY wheelhouse/README.md wheelhouse/{image}* " in text
    assert len(re.findall(r"^RUN .*install_python_deps.sh", text, re.M)) == 1  # no other requirements
    copied = set(re.findall(r"^COPY (\w+)/ /opt/vv/app/", text, re.M))
    assert set(STAGE_DOCKERFILES) <= copied  # all stage code (vv imports some CLIs at start-up)
    assert "COPY wheelhouse" not in text.split("FROM ${BASE_IMAGE}\n")[-1]  # wheels stay in the build stage


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
