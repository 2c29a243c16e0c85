"""Settings of the operator tools beside the pipeline: backup/restore, the self-monitor, cleanup."""

from pathlib import Path

from pydantic import Field, field_validator

from vv_core.settings import CoreSettings


class BackupSettings(CoreSettings):
    """Backups and restore drills (ops/backup/backup.py, ops/backup/restore_drill.py)."""

    restic_repository: str | None = Field(
        None, description="restic repository for backups (a path, sftp:…, s3:…); empty: backups disabled."
    )
    restic_password_file: Path | None = Field(
        None, description="File holding the restic repository password (mode 0600 or a Docker secret)."
    )
    backup_config_root: Path = Field(
        Path("."),
        description="Directory holding .env and the module config files that backups include.",
    )
    backup_excludes: str = Field(
        "*.part,*.tmp,*.lock,*.pid",
        description="Comma-separated glob patterns (file names) never backed up.",
    )
    backup_keep_daily: int = Field(7, ge=1, description="Retention: daily snapshots kept (GFS).")
    backup_keep_weekly: int = Field(4, ge=0, description="Retention: weekly snapshots kept (GFS).")
    backup_keep_monthly: int = Field(6, ge=0, description="Retention: monthly snapshots kept (GFS).")
    backup_check_subsets: int = Field(
        7, ge=1,
        description="restic check reads 1/N of the repository data per restore drill, rotating through N.",
    )

    @field_validator("restic_repository", "restic_password_file", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # `RESTIC_PASSWORD_FILE=` in .env must mean "not set", not Path(".").
        return None if isinstance(value, str) and not value.strip() else value


class SelfMonitorSettings(CoreSettings):
    """The self-monitor (scripts/self_monitor.py): which containers, how often, restart budget."""

    self_monitor_containers: str = Field(
        "video_capture,scene_scanner,scene_summarizer,logline_writer,playlist_manager,tv_api",
        description="Comma-separated container names the self-monitor watches.",
    )
    self_monitor_interval_s: float = Field(30.0, gt=0, description="Seconds between checks in --loop.")
    self_monitor_error_threshold: int = Field(
        3, ge=1, description="Consecutive failed checks before a container is restarted."
    )
    self_monitor_start_period_s: float = Field(
        120.0, ge=0, description="Grace time after a container starts during which failures don't count "
        "(one restart per budget window; a crash loop gets none)."
    )
    self_monitor_restart_budget: int = Field(
        3, ge=0, description="Restarts allowed per container per budget window."
    )
    self_monitor_budget_window_s: float = Field(3600.0, gt=0, description="Restart budget window.")
    self_monitor_backoff_s: float = Field(
        60.0, ge=0, description="Minimum delay between restarts of one container; doubles per restart."
    )


class CleanupSettings(CoreSettings):
    """`vv cleanup` (scripts/cleanup_old_files.py): what is pruned and what is kept."""

    cleanup_days: float = Field(30.0, gt=0, description="`vv cleanup` deletes files older than this.")
    cleanup_dirs: str = Field(
        "processed,corrupted,raw,logs/archive,snapshots",
        description="Comma-separated directories (relative to the storage root) `vv cleanup` may prune.",
    )
    alert_footage_retention_days: float = Field(
        90.0, ge=0, description="Videos whose LogLine status is alerta are kept at least this long."
    )


class UpdateSettings(CoreSettings):
    """`vv update` (ops/update): where a stale image comes from."""

    update_registry: str = Field(
        "", description="Site registry (host:port) `vv update` pulls stale images from instead of building them "
                        "from the wheelhouse; each must carry this checkout's inputs hash. Empty: build locally.",
    )


class DiagnosisSettings(CoreSettings):
    """`vv diagnose` and `vv drill` (ops/diagnosis): thresholds of the evidence rules, and which
    remediation actions `vv diagnose --fix --apply` may take (each off until an operator turns it on)."""

    diagnose_status_url: str = Field(
        "http://127.0.0.1:8000/status",
        description="tv_api's /status that `vv diagnose` reads; empty: tv_api is not checked.",
    )
    diagnose_window_s: float = Field(
        3600.0, gt=0, description="Log errors, failures and quarantines newer than this are evidence."
    )
    diagnose_disk_full_percent: float = Field(
        95.0, gt=0, le=100, description="Storage root used at or above this percentage is the disk-full fault."
    )
    diagnose_bad_file_burst: int = Field(
        10, ge=1, description="This many files quarantined as bad input within the window is a burst."
    )
    diagnose_clock_jump_s: float = Field(
        300.0, gt=0, description="A record newer than now by more than this means the clock jumped back."
    )
    diagnose_use_llm: bool = Field(
        True, description="Show the installed LLM's view (its pick among the matched causes, explained) next to "
        "the rule ranking; advisory: actions follow the rules. Asked only when two or more causes match."
    )
    diagnose_fix_restart_stage: bool = Field(
        False, description="`vv diagnose --fix` may restart a stage's container (docker runner only)."
    )
    diagnose_fix_rollback_model: bool = Field(
        False, description="`vv diagnose --fix` may switch a broken model back to the previous one."
    )
    diagnose_fix_free_space: bool = Field(
        False, description="`vv diagnose --fix` may free space by the cleanup policy (disk-pressure mode)."
    )
    diagnose_fix_pause_ingestion: bool = Field(
        False, description="`vv diagnose --fix` may pause ingestion (the orchestrator claims no new input)."
    )
    diagnose_fix_requeue_transient: bool = Field(
        False, description="`vv diagnose --fix` may move files quarantined by a transient fault back to input/."
    )
    diagnose_fix_resume_ingestion: bool = Field(
        False, description="`vv diagnose --fix` may resume an ingestion it paused once no fault matches any more."
    )
    diagnose_fix_wait_for_db: bool = Field(
        False, description="`vv diagnose --fix` may wait (with backoff, up to 30 s) for a locked state DB to free."
    )
    diagnose_action_budget: int = Field(
        3, ge=0, description="Remediation actions `vv diagnose --fix` may apply per budget window."
    )
    diagnose_budget_window_s: float = Field(3600.0, gt=0, description="Remediation budget window.")
