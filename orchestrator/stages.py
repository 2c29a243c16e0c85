"""One table of the stages: each stage's four names and its files, in one place.

A stage has a code folder (``scan_video``), a `vv` command (``scan``), a container that runs it under
the docker runner (the ``container_scan`` setting, ``scene_scanner`` by default) and, in the
pipeline, the state a video reaches when it succeeds (``scanned``). The engine, the runners, the
status file and the containers' health checks read them here, so a stage is added or renamed in
one row, not in parallel lists and names built from strings.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StageSpec:
    command: str                     # `vv <command>`; also the key of the stage in status and runners
    package: str                     # the stage's code folder (its import name)
    timeout_setting: str | None = None  # the setting (seconds) that bounds one run of the command
    container_setting: str | None = None  # the setting naming its container (docker runner)
    args_setting: str | None = None  # the setting with extra arguments for every run (shell-quoted)
    writes: tuple[str, ...] = ()     # storage directories it must be able to write (health check)
    # --- pipeline stages only: what a run reads and writes, and the state it moves a video between
    input_column: str | None = None  # state DB column holding the run's input path
    output_dir: str | None = None    # storage directory of its output
    output_suffix: str | None = None  # the output's name is <artifact id><suffix>
    output_column: str | None = None  # state DB column recording the output path
    schema: str | None = None        # schemas/<schema>.schema.json validates the output
    state_before: str | None = None  # the state a video is in when this stage is due
    state_after: str | None = None   # the state it reaches when the stage succeeds

    def timeout_s(self, settings: Any) -> float:
        if self.timeout_setting is None:
            raise KeyError(f"stage {self.command!r} is not run as a command")
        return float(getattr(settings, self.timeout_setting))

    def container(self, settings: Any) -> str:
        if self.container_setting is None:
            raise KeyError(f"stage {self.command!r} has no container of its own")
        return str(getattr(settings, self.container_setting))

    def extra_args(self, settings: Any) -> list[str]:
        import shlex

        return shlex.split(str(getattr(settings, self.args_setting, "") or "")) if self.args_setting else []


SCAN = StageSpec(
    command="scan", package="scan_video", timeout_setting="stage_timeout_scan_s",
    container_setting="container_scan", args_setting="stage_args_scan", writes=("analytic",),
    input_column="current_path", output_dir="analytic", output_suffix=".analytic.json",
    output_column="analytic_path", schema="analytic", state_before="discovered", state_after="scanned",
)
SUMMARIZE = StageSpec(
    command="summarize", package="summarize_scene", timeout_setting="stage_timeout_summarize_s",
    container_setting="container_summarize", args_setting="stage_args_summarize", writes=("summaries",),
    input_column="analytic_path", output_dir="summaries", output_suffix=".summary.json",
    output_column="summary_path", schema="summary", state_before="scanned", state_after="summarized",
)
LOGLINE = StageSpec(
    command="logline", package="logline_generator", timeout_setting="stage_timeout_logline_s",
    container_setting="container_logline", args_setting="stage_args_logline", writes=("loglines", "state"),
    input_column="summary_path", output_dir="loglines", output_suffix=".logline.json",
    output_column="logline_path", schema="logline", state_before="summarized", state_after="logged",
)
SCHEDULE = StageSpec(command="schedule", package="tv_scheduler", timeout_setting="stage_timeout_schedule_s",
                     container_setting="container_schedule", writes=("playlists",))
# Services the orchestrator never runs as a command, but whose containers have a health check.
CAPTURE = StageSpec(command="capture", package="agent_dvr", writes=("input", "state", "logs"))
API = StageSpec(command="api", package="tv_api")

PIPELINE: tuple[StageSpec, ...] = (SCAN, SUMMARIZE, LOGLINE)  # in the order a video goes through them
RUN_BY_ORCHESTRATOR: tuple[StageSpec, ...] = (*PIPELINE, SCHEDULE)  # commands the runners execute
ALL: dict[str, StageSpec] = {spec.command: spec for spec in (CAPTURE, *RUN_BY_ORCHESTRATOR, API)}

STAGES = tuple(spec.command for spec in PIPELINE)
BY_COMMAND: dict[str, StageSpec] = {spec.command: spec for spec in PIPELINE}
DUE_IN_STATE: dict[str, StageSpec] = {spec.state_before: spec for spec in PIPELINE}  # type: ignore[misc]
TERMINAL_STATES = ("done", "failed")
