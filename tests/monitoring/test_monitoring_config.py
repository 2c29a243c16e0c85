"""Static checks of the monitoring files with the real tools: promtool, logrotate, yamllint."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT

MONITORING = REPO_ROOT / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "vv-pipeline.json"


def run(*command: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=60)


def test_promtool_check_config_passes_as_shipped():
    """`promtool check config monitoring/prometheus.yml` from the repo root, on the files in git:
    it also opens every file the config names (the token file and the rule file)."""
    full = run("promtool", "check", "config", "monitoring/prometheus.yml", cwd=REPO_ROOT)
    assert full.returncode == 0, full.stdout + full.stderr
    assert "SUCCESS: 1 rule files found" in full.stdout
    rules = run("promtool", "check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 18 rules found" in rules.stdout


def test_the_token_file_is_a_placeholder_that_the_docker_secret_replaces():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    [tv_api] = [job for job in config["scrape_configs"] if job["job_name"] == "tv_api"]
    relative = tv_api["authorization"]["credentials_file"]
    assert not relative.startswith("/")  # resolved against the config file's directory
    placeholder = (MONITORING / relative).read_text()
    assert placeholder.startswith("placeholder-not-a-token")
    compose = yaml.safe_load((MONITORING / "docker-compose.monitoring.yml").read_text())
    [secret] = compose["services"]["prometheus"]["secrets"]
    assert secret == {"source": "prometheus_tv_api_token", "target": f"/etc/prometheus/{relative}"}
    assert "--config.file=/etc/prometheus/prometheus.yml" in compose["services"]["prometheus"]["command"]


def test_alert_rules_fire_as_specified():
    """promtool's rule unit tests: each alert fires (or not) on synthetic series, with its text."""
    result = run("promtool", "test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_severity_summary_and_description():
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    alerts = [rule for group in groups for rule in group["rules"]]
    assert {rule["labels"]["severity"] for rule in alerts} <= {"warning", "critical"}
    assert all(rule["annotations"]["summary"] and rule["annotations"]["description"] for rule in alerts)
    tested = (MONITORING / "alerts.test.yml").read_text()
    untested = [rule["alert"] for rule in alerts if f"alertname: {rule['alert']}" not in tested]
    # the remaining ones are covered by the live Prometheus test (rules load and evaluate)
    assert len(untested) <= 5, untested


def test_yaml_files_lint_clean():
    files = [str(p) for p in MONITORING.rglob("*.yml")]
    result = run("yamllint", "-d", "{extends: relaxed, rules: {line-length: {max: 160}}}", *files)
    assert result.returncode == 0, result.stdout


def test_dashboard_panels_use_the_provisioned_datasource():
    dashboard = json.loads(DASHBOARD.read_text())
    datasource = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("queue", "stage duration", "errors", "inference", "disk", "playlist"):
        assert topic in titles, topic
    for panel in panels:
        assert panel["datasource"]["uid"] == uid
        assert all(t["datasource"]["uid"] == uid and t["expr"] for t in panel["targets"])
    provider = yaml.safe_load((MONITORING / "grafana/provisioning/dashboards/vv.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_compose_override_mounts_files_that_exist_and_only_under_the_profile():
    compose = yaml.safe_load((MONITORING / "docker-compose.monitoring.yml").read_text())
    assert compose["services"]["video_capture"] == {"environment": {"DVR_HTTP_HOST": "0.0.0.0"}}  # noqa: S104
    for name, service in compose["services"].items():
        if name == "video_capture":
            continue
        assert service["profiles"] == ["monitoring"], name
        assert all(port.startswith("127.0.0.1:") for port in service["ports"]), name
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name}: {source}"
    assert [s["source"] for s in compose["services"]["prometheus"]["secrets"]] == ["prometheus_tv_api_token"]
    mounted = compose["services"]["grafana"]["volumes"]
    assert "./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro" in mounted


@pytest.fixture
def rendered_logrotate(tmp_path: Path) -> tuple[Path, Path]:
    storage = tmp_path / "storage"
    (storage / "logs").mkdir(parents=True)
    template = (MONITORING / "logrotate" / "vv-video-ai.conf.in").read_text()
    config = tmp_path / "vv-video-ai.conf"
    config.write_text(template.replace("@VIDEO_STORAGE_ROOT@", str(storage)))
    config.chmod(0o644)
    return config, storage / "logs"


def test_logrotate_config_parses_in_debug_mode(rendered_logrotate, tmp_path):
    config, logs = rendered_logrotate
    (logs / "app.log").write_text('{"message": "x"}\n')
    result = run("logrotate", "-d", "-s", str(tmp_path / "state"), str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower()
    assert f"considering log {logs}/app.log" in result.stderr


def test_logrotate_rotates_by_copy_and_truncate_so_open_handles_keep_working(rendered_logrotate, tmp_path):
    config, logs = rendered_logrotate
    log = logs / "app.log"
    with log.open("a") as writer:   # a service holding its log open, as Python's FileHandler does
        writer.write('{"message": "before rotation"}\n')
        writer.flush()
        result = run("logrotate", "-f", "-s", str(tmp_path / "state"), str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        writer.write('{"message": "after rotation"}\n')
        writer.flush()
    rotated = [p for p in logs.iterdir() if p.name.startswith("app.log-")]
    assert len(rotated) == 1 and "before rotation" in rotated[0].read_text()
    assert "after rotation" in log.read_text() and "before rotation" not in log.read_text()



def test_compose_override_merges_with_the_stack(tmp_path):
    """docker compose (v2, from requirements/dev.txt) accepts the stack plus this override."""
    from tests.deploy.tools import compose_env, tool

    command = [tool("docker-compose"), "--project-directory", str(REPO_ROOT), "-f", "docker-compose.yml",
               "-f", "monitoring/docker-compose.monitoring.yml", "--profile", "monitoring"]
    env = compose_env(tmp_path)
    services = subprocess.run([*command, "config", "--services"], capture_output=True, text=True, env=env,
                              cwd=REPO_ROOT, check=False, timeout=60)
    assert services.returncode == 0, services.stderr
    assert {"prometheus", "grafana", "tv_api", "video_capture"} <= set(services.stdout.split())
    merged = subprocess.run([*command, "config", "--format", "json"], capture_output=True, text=True, env=env,
                            cwd=REPO_ROOT, check=False, timeout=60)
    assert merged.returncode == 0, merged.stderr
    config = json.loads(merged.stdout)
    assert config["services"]["video_capture"]["environment"]["DVR_HTTP_HOST"] == "0.0.0.0"  # noqa: S104
    assert config["services"]["video_capture"]["environment"]["SERVICE_NAME"] == "video_capture"
    without_profile = subprocess.run([tool("docker-compose"), "--project-directory", str(REPO_ROOT), "-f",
                                      "docker-compose.yml", "-f", "monitoring/docker-compose.monitoring.yml",
                                      "config", "--services"], capture_output=True, text=True, env=env,
                                     cwd=REPO_ROOT, check=False, timeout=60)
    assert "prometheus" not in without_profile.stdout.split()
