"""Runners and failure classification, with tiny real stage scripts as subprocesses."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator.failures import backoff_delay, classify_result, invalid_output
from orchestrator.runners import DockerRunner, LocalRunner, StageResult, build_runner, longest_run_s
from tests.engine_api_fake import EngineServer, FakeEngine, container_attrs
from tests.helpers import repo_env


def stage_script(tmp_path: Path, body: str) -> list[str]:
    """A one-file 'vv' whose every command runs ``body`` (argv[1] is the command)."""
    script = tmp_path / "stage.py"
    script.write_text("import os, sys, time, subprocess\n" + textwrap.dedent(body))
    return [sys.executable, str(script)]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(") ", 1)[1][0] != "Z"


def wait_dead(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_success_prints_the_path(tmp_path):
    runner = LocalRunner(stage_script(tmp_path, "print(sys.argv[2] + '/out.json')"))
    result = runner.run("scan", [str(tmp_path)], timeout_s=30)
    assert result.ok and result.output_paths() == [f"{tmp_path}/out.json"]


@pytest.mark.parametrize(("body", "kind", "reason"), [
    ("print('error: not a video: x.mp4', file=sys.stderr); sys.exit(1)", "permanent", "not a video: x.mp4"),
    ("print('error: internal error: boom', file=sys.stderr); sys.exit(2)", "transient", "internal error: boom"),
    ("sys.exit(3)", "transient", "exit 3"),
    ("os.kill(os.getpid(), 9)", "transient", "killed (exit -9"),
    ("sys.exit(137)", "transient", "killed (exit 137"),
    ("print('error: model not found: yolo', file=sys.stderr); sys.exit(1)", "transient", "missing model"),
    ("sys.exit(1)", "permanent", "bad input (exit 1)"),
])
def test_exit_codes_are_classified(tmp_path, body, kind, reason):
    result = LocalRunner(stage_script(tmp_path, body)).run("scan", [], timeout_s=30)
    assert not result.ok
    failure = classify_result(result)
    assert failure.kind == kind and failure.reason.startswith(reason)


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    body = f"""
        child = subprocess.Popen(["sleep", "60"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
    """
    result = LocalRunner(stage_script(tmp_path, body)).run("scan", [], timeout_s=1.5)
    assert result.timed_out and not result.ok
    assert classify_result(result).reason.startswith("timeout after")
    assert wait_dead(int(pid_file.read_text()))


def test_a_command_that_cannot_start_is_an_infrastructure_failure(tmp_path):
    result = LocalRunner([str(tmp_path / "no-such-vv")]).run("scan", [], timeout_s=5)
    assert result.exit_code is None and "cannot start" in result.infrastructure_error
    assert classify_result(result).kind == "transient"


def test_stage_dies_with_a_sigkilled_orchestrator(tmp_path):
    """PR_SET_PDEATHSIG: no orphaned stage keeps running after the orchestrator is killed."""
    pid_file = tmp_path / "stage.pid"
    stage = stage_script(tmp_path, f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)\n")
    parent_code = textwrap.dedent(f"""
        from orchestrator.runners import LocalRunner
        LocalRunner({stage!r}).run("scan", [], timeout_s=120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], env=repo_env())
    try:
        deadline = time.monotonic() + 30
        while not pid_file.is_file() or not pid_file.read_text():
            assert time.monotonic() < deadline, "stage never started"
            time.sleep(0.05)
        stage_pid = int(pid_file.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_dead(stage_pid)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_helpers_of_classification():
    assert invalid_output("bad").kind == "permanent"
    assert [backoff_delay(n, 60, 300) for n in (0, 1, 2, 3, 4)] == [0.0, 60, 120, 240, 300]
    assert backoff_delay(3, 0, 300) == 0.0
    result = StageResult("scan", 2, "", "warning\nerror: internal error: x\n", 1.0)
    assert result.error_line() == "internal error: x"
    assert StageResult("scan", 1, "", "", 0.1).error_line() == ""


def test_stage_args_are_shell_split(settings):
    configured = settings.model_copy(update={"stage_args_summarize": "--config '/etc/vv/my summarize.yaml'"})
    assert configured.stage_args("summarize") == ["--config", "/etc/vv/my summarize.yaml"]
    assert configured.stage_args("scan") == [] and configured.stage_args("schedule") == []


def test_build_runner_picks_local_by_default(settings):
    assert build_runner(settings).name == "local"
    configured = build_runner(settings.model_copy(update={"orchestrator_vv_command": "/opt/vv/bin/vv --x"}))
    assert configured.vv_command == ["/opt/vv/bin/vv", "--x"]


# --- docker runner: the real Docker SDK against recorded Engine API responses --------------------------

@pytest.fixture
def engine():
    directory = tempfile.mkdtemp(prefix="vv-engine-", dir="/tmp")  # unix socket paths must be short
    fake = FakeEngine(containers={
        "scene_scanner": container_attrs("scene_scanner"),
        "scene_summarizer": container_attrs("scene_summarizer", status="exited", exit_code=137),
    })
    with EngineServer(Path(directory) / "docker.sock", fake) as server:
        yield server
    shutil.rmtree(directory, ignore_errors=True)


def docker_runner(server, settings):
    return DockerRunner.from_settings(settings, client=server.client())


def test_docker_runner_execs_into_the_stage_container_with_mapped_paths(engine, settings):
    root = settings.storage.root
    engine.engine.exec_results["scan"] = (0, b"/data/analytic/cam1_a.analytic.json\n", b"")
    runner = docker_runner(engine, settings)
    result = runner.run("scan", [str(root / "input/cam1/a.mp4"), "--output-dir", str(root / "analytic"),
                                 "--id", "cam1_a"], timeout_s=900)
    assert result.ok and result.container == "scene_scanner"
    assert result.output_paths() == [str(root / "analytic/cam1_a.analytic.json")]
    exec_create = next(body for method, path, body in engine.engine.requests if path.endswith("/exec"))
    assert exec_create["Cmd"] == ["timeout", "-s", "KILL", "900", "vv", "scan", "/data/input/cam1/a.mp4",
                                  "--output-dir", "/data/analytic", "--id", "cam1_a"]


def test_docker_runner_reports_stage_failures_and_down_containers(engine, settings):
    engine.engine.exec_results["scan"] = (1, b"", b"error: not a video: a.mp4\n")
    runner = docker_runner(engine, settings)
    failed = runner.run("scan", ["/x"], timeout_s=10)
    assert classify_result(failed).kind == "permanent"
    assert failed.error_line() == "not a video: a.mp4"
    engine.engine.exec_results["scan"] = (137, b"", b"")
    assert classify_result(runner.run("scan", ["/x"], timeout_s=10)).reason.startswith("killed (exit 137")
    down = runner.run("summarize", ["/x"], timeout_s=10)
    assert down.infrastructure_error == "container scene_summarizer is exited"
    missing = runner.run("logline", ["/x"], timeout_s=10)
    assert missing.infrastructure_error == "container logline_writer not found"
    assert classify_result(missing).kind == "transient"


def test_docker_runner_hands_a_batchs_summaries_to_one_logline_exec(settings):
    """The engine logs a batch with one `vv logline A B …`: every path is mapped into the container,
    in order, and every LogLine path printed is mapped back."""
    root = settings.storage.root
    directory = tempfile.mkdtemp(prefix="vv-engine-", dir="/tmp")
    fake = FakeEngine(containers={"logline_writer": container_attrs("logline_writer")})
    fake.exec_results["logline"] = (0, b"/data/loglines/cam1_a.logline.json\n/data/loglines/cam1_b.logline.json\n", b"")
    try:
        with EngineServer(Path(directory) / "docker.sock", fake) as server:
            result = docker_runner(server, settings).run(
                "logline", [str(root / "summaries/cam1_a.summary.json"), str(root / "summaries/cam1_b.summary.json"),
                            "--output-dir", str(root / "loglines")], timeout_s=240)
            exec_create = next(body for method, path, body in fake.requests if path.endswith("/exec"))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert result.ok and result.container == "logline_writer"
    assert result.output_paths() == [str(root / "loglines/cam1_a.logline.json"),
                                     str(root / "loglines/cam1_b.logline.json")]
    assert exec_create["Cmd"] == ["timeout", "-s", "KILL", "240", "vv", "logline",
                                  "/data/summaries/cam1_a.summary.json", "/data/summaries/cam1_b.summary.json",
                                  "--output-dir", "/data/loglines"]


def test_docker_runner_engine_unreachable_is_transient(settings, tmp_path):
    import docker

    client = docker.DockerClient(base_url=f"unix://{tempfile.gettempdir()}/vv-no-such.sock", version="1.41",
                                 timeout=2)
    result = DockerRunner.from_settings(settings, client=client).run("scan", ["/x"], timeout_s=10)
    assert "docker engine error" in result.infrastructure_error
    assert classify_result(result).kind == "transient"


def test_the_docker_clients_timeout_outlasts_a_whole_scan_batch(settings):
    """A batch of 8 scans may run 8 × the scan timeout; an HTTP timeout shorter than that would
    report a live batch as a dead engine and start single scans beside it."""
    assert longest_run_s(settings) == settings.stage_timeout_s("scan") * settings.orchestrator_scan_batch
    single = settings.model_copy(update={"orchestrator_scan_batch": 1, "stage_timeout_summarize_s": 5000.0})
    assert longest_run_s(single) == 5000.0
    # the batch's LogLines are written in one run too, with the logline timeout once per video
    slow_logline = settings.model_copy(update={"stage_timeout_logline_s": 1000.0})
    assert longest_run_s(slow_logline) == 1000.0 * settings.orchestrator_scan_batch
