"""The one settings model: environment variables and ``.env``, every one documented in .env.example.

Stages read what they need from here; YAML rule files (tv_scheduler/config.yaml, …) have their own
pydantic models next to the stage. Unknown ``VV_``-less variables in the environment are ignored
(the environment holds much else), but a typo'd key in ``.env`` is an error.
"""

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vv_core.storage import StorageLayout


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="forbid", case_sensitive=False
    )

    # --- core -------------------------------------------------------------------------------
    video_storage_root: Path = Field(
        Path("storage"), description="Root of the storage tree (input, analytic, loglines, …)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Minimum level of the JSON logs."
    )
    service_name: str = Field("vv", description="service_name field of every log line.")
    box_timezone: str = Field(
        "UTC",
        description="IANA time zone of the box and its cameras (e.g. Europe/Madrid): local times in "
        "summaries and the day/night rules. Files and LogLines keep UTC.",
    )
    key_store_path: Path = Field(
        Path("secrets/logline_keys.json"),
        description="HMAC key store (JSON, mode 0600, or a Docker secret under /run/secrets).",
    )
    dvr_ip: str = Field("127.0.0.1", description="Address of the default camera/DVR.")
    alert_webhook_url: str | None = Field(
        None, description="Webhook that receives alerts as JSON (empty: alerts are only logged)."
    )

    # --- backup (ops/backup/backup.py, ops/backup/restore_drill.py) -------------------------------
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

    @field_validator("box_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value.upper() == "UTC":
            return "UTC"
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("restic_repository", "restic_password_file", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # `RESTIC_PASSWORD_FILE=` in .env must mean "not set", not Path(".").
        return None if isinstance(value, str) and not value.strip() else value
    # --- alerts (issue 5) ---------------------------------------------------------------------
    alert_webhook_format: Literal["auto", "generic", "slack", "telegram"] = Field(
        "auto",
        description="Payload format of the alert webhook; auto picks slack/telegram from the URL's host.",
    )
    alert_telegram_chat_id: str | None = Field(
        None, description="chat_id sent with Telegram-format alerts (required for Telegram)."
    )
    alert_dedup_window_s: float = Field(
        900.0, ge=0, description="An identical alert is sent at most once per this many seconds."
    )
    alert_retries: int = Field(3, ge=0, le=10, description="Extra delivery attempts after a failure.")
    alert_retry_backoff_s: float = Field(
        1.0, ge=0, description="First retry delay; doubles on each further retry."
    )
    alert_timeout_s: float = Field(5.0, gt=0, description="HTTP timeout of one webhook delivery.")

    # --- orchestrator (issue 5) ---------------------------------------------------------------
    orchestrator_interval: float = Field(
        300.0, gt=0, description="Seconds between pipeline runs in `vv orchestrate --loop`."
    )
    orchestrator_runner: Literal["local", "docker"] = Field(
        "local", description="How stages run: local subprocess, or docker exec into the stage containers."
    )
    orchestrator_vv_command: str = Field(
        "",
        description="Stage CLI command line for the local runner (empty: this Python's `-m vv_cli.main`).",
    )
    stage_args_scan: str = Field("", description="Extra arguments appended to every `vv scan` run (shell-quoted).")
    stage_args_summarize: str = Field(
        "", description="Extra arguments appended to every `vv summarize` run, e.g. `--config FILE`."
    )
    stage_args_logline: str = Field("", description="Extra arguments appended to every `vv logline` run.")
    stage_timeout_scan_s: float = Field(
        900.0, gt=0, description="Timeout of one video's `vv scan` (a batch: this × its videos)."
    )
    stage_timeout_summarize_s: float = Field(600.0, gt=0, description="Timeout of one `vv summarize` run.")
    stage_timeout_logline_s: float = Field(120.0, gt=0, description="Timeout of one `vv logline` run.")
    stage_timeout_schedule_s: float = Field(120.0, gt=0, description="Timeout of `vv schedule --once`.")
    max_attempts: int = Field(
        3, ge=1, le=100, description="Transient failures of one stage before the video is quarantined."
    )
    retry_backoff_s: float = Field(
        60.0, ge=0, description="Delay before the first retry of a failed stage; doubles per attempt."
    )
    retry_backoff_max_s: float = Field(3600.0, ge=0, description="Upper bound of the retry delay.")
    stable_wait_s: float = Field(
        2.0, ge=0, description="A new video must keep the same size and mtime this long before it is taken."
    )
    max_processing_s: float = Field(
        3600.0, gt=0, description="A video still unfinished this long after discovery raises an alert."
    )
    orchestrator_scan_batch: int = Field(
        8, ge=1, le=256, description="Videos scanned by one `vv scan` process (models load once per batch; "
        "a video the batch could not scan is scanned alone); 1: one process per video."
    )
    orchestrator_trigger_schedule: bool = Field(
        True, description="Run `vv schedule --once` after a run that finished videos (else: the watcher)."
    )
    disk_min_free_percent: float = Field(
        10.0, ge=0, le=100, description="Free space of the storage root below this raises an alert."
    )
    docker_container_storage_root: Path = Field(
        Path("/data"), description="Where the storage root is mounted inside the stage containers."
    )
    container_scan: str = Field("scene_scanner", description="Container that runs `vv scan` (docker runner).")
    container_summarize: str = Field(
        "scene_summarizer", description="Container that runs `vv summarize` (docker runner)."
    )
    container_logline: str = Field(
        "logline_writer", description="Container that runs `vv logline` (docker runner)."
    )
    container_schedule: str = Field(
        "playlist_manager", description="Container that runs `vv schedule --once` (docker runner)."
    )

    # --- self-monitor (issue 5) ---------------------------------------------------------------
    self_monitor_containers: str = Field(
        "video_capture,scene_scanner,scene_summarizer,logline_writer,playlist_manager,tv_api",
        description="Comma-separated container names the self-monitor watches.",
    )
    self_monitor_interval_s: float = Field(30.0, gt=0, description="Seconds between checks in --loop.")
    self_monitor_error_threshold: int = Field(
        3, ge=1, description="Consecutive failed checks before a container is restarted."
    )
    self_monitor_start_period_s: float = Field(
        120.0, ge=0, description="Grace time after a container starts during which failures don't count."
    )
    self_monitor_restart_budget: int = Field(
        3, ge=0, description="Restarts allowed per container per budget window."
    )
    self_monitor_budget_window_s: float = Field(3600.0, gt=0, description="Restart budget window.")
    self_monitor_backoff_s: float = Field(
        60.0, ge=0, description="Minimum delay between restarts of one container; doubles per restart."
    )

    # --- cleanup (issue 5) ----------------------------------------------------------------------
    cleanup_days: float = Field(30.0, gt=0, description="`vv cleanup` deletes files older than this.")
    cleanup_dirs: str = Field(
        "processed,corrupted,raw,logs/archive,snapshots",
        description="Comma-separated directories (relative to the storage root) `vv cleanup` may prune.",
    )
    alert_footage_retention_days: float = Field(
        90.0, ge=0, description="Videos whose LogLine status is alerta are kept at least this long."
    )

    # --- scan_video -------------------------------------------------------------------------
    scan_interval_s: float = Field(
        1.0, gt=0, description="Seconds between sampled frames (one sample per interval)."
    )
    scan_backend: Literal["onnxruntime", "ultralytics"] = Field(
        "onnxruntime",
        description="Detector runtime: onnxruntime (YOLOv8 ONNX, no torch) or ultralytics (any YOLO file).",
    )
    scan_detector_model: str = Field(
        "",
        description="Detector name in the model manifest (empty: the current detector pointer, else "
        "the manifest's default detector that fits the backend).",
    )
    scan_detector_version: str = Field(
        "", description="Detector version in the manifest (empty: the newest entry with that name)."
    )
    scan_input_size: int = Field(
        640, ge=32, le=1920,
        description="Detector input size in pixels (640/416/320; a static ONNX model keeps its own).",
    )
    scan_confidence: float = Field(0.25, ge=0, le=1, description="Minimum detection confidence.")
    scan_iou: float = Field(0.45, ge=0, le=1, description="IoU above which NMS drops the weaker box.")
    scan_threads: int = Field(
        2, ge=1, le=64, description="CPU threads for inference (decode runs beside it in its own thread)."
    )
    scan_parallel_videos: int = Field(
        2, ge=1, le=16, description="Videos of one `vv scan` batch decoded at once (inference takes turns)."
    )
    scan_class_rename: str = Field(
        "Normal=person,Fall=person_fallen",
        description="Comma list OLD=NEW renaming the model's class names in the output.",
    )
    scan_class_filter: str = Field(
        "", description="Comma list of labels (after renaming) to keep; empty keeps every class."
    )
    scan_person_labels: str = Field(
        "person,person_fallen",
        description="Comma list of labels (after renaming) whose boxes are searched for faces.",
    )
    scan_motion_gating: bool = Field(
        True, description="Skip inference on sampled frames that did not change (frame difference)."
    )
    scan_motion_width: int = Field(
        160, ge=16, le=1920, description="Width of the grey thumbnail the motion gate compares."
    )
    scan_motion_pixel_delta: int = Field(
        25, ge=1, le=255, description="Grey-level change that counts a thumbnail pixel as changed."
    )
    scan_motion_threshold: float = Field(
        0.005, ge=0, le=1,
        description="Fraction of changed thumbnail pixels above which a frame has motion.",
    )
    scan_min_inference_interval_s: float = Field(
        10.0, ge=0,
        description="Run inference at least this often even without motion, so still objects are "
        "reported (0: every sample).",
    )
    scan_keyframe_snap_s: float = Field(
        0.0, ge=0,
        description="A sample may move up to this many seconds to a keyframe to avoid decoding a "
        "group of pictures (0: exact sample times).",
    )
    scan_frame_tolerance_s: float = Field(
        0.2, ge=0,
        description="A sample may move forward up to this many seconds to the next frame the decoder "
        "produces while skipping non-reference frames (0: frame-exact, decodes every frame up to it).",
    )
    scan_face_engine: Literal["dlib_hog", "dlib_cnn", "opencv_haar", "disabled"] = Field(
        "dlib_hog",
        description="Face detector: dlib_hog, dlib_cnn (slow on CPU), opencv_haar, or disabled; "
        "dlib engines fall back to opencv_haar (labelled degraded) when dlib is missing.",
    )
    scan_face_min_size: int = Field(
        1000, ge=32, le=4096,
        description="Person boxes are upscaled to at least this height before face detection "
        "(a face is ~1/8 of a standing person; dlib's HOG window is 80 px).",
    )
    scan_min_score: float = Field(
        0.5, ge=0, le=1,
        description="A single detection below this score is dropped before tracking (Frigate's min_score).",
    )
    scan_min_score_labels: str = Field(
        "", description="Comma list LABEL=SCORE overriding SCAN_MIN_SCORE per label (after renaming)."
    )
    scan_track_threshold: float = Field(
        0.5, ge=0, le=1,
        description="A track is an event when the median score of its detections reaches this (Frigate's "
        "threshold; 0.5 suits the default fall detector, whose people score 0.5-0.8).",
    )
    scan_track_threshold_labels: str = Field(
        "", description="Comma list LABEL=SCORE overriding SCAN_TRACK_THRESHOLD per label ('person' for people)."
    )
    scan_track_min_samples: int = Field(
        2, ge=1, description="Samples a track needs to be an event (a box on one frame alone is not an object)."
    )
    scan_track_max_gap_s: float = Field(
        3.0, gt=0, description="Seconds a track may go unseen (missed detections) before it ends."
    )
    scan_fall_labels: str = Field(
        "person_fallen", description="Comma list of labels (after renaming) of the detector's fall class."
    )
    scan_fall_min_s: float = Field(
        2.0, ge=0, description="A person track is a fall only when its fall samples span at least this many seconds."
    )
    scan_fall_min_fraction: float = Field(
        0.5, ge=0, le=1, description="...and are at least this fraction of the track's samples."
    )
    scan_fall_min_aspect: float = Field(
        1.0, ge=0,
        description="A fall sample's box must be at least this much wider than tall (width/height).",
    )
    scan_snapshots: bool = Field(
        True,
        description="Write every event's best frame (box drawn) and a crop as JPEG under snapshots/<video id>/.",
    )
    scan_face_tolerance: float = Field(
        0.6, gt=0, le=2,
        description="A face is a known person's when its encoding lies within this distance of one of "
        "theirs (`vv faces add`; 0.6 as face_recognition, lower is stricter).",
    )
    scan_face_matches_per_track: int = Field(
        3, ge=0, description="Face crops of one person track matched against known faces, at most (0: none)."
    )
    scan_decode_timeout_s: float = Field(
        30.0, gt=0, description="Longest wait for probing or decoding one frame before giving up."
    )
    scan_max_pixels: int = Field(
        8_912_896, ge=1,
        description="Largest frame (width × height) accepted; bigger videos are refused (4096×2176).",
    )

    # --- summarize_scene and the model lifecycle (vv model …) -----------------------------------
    models_dir: Path = Field(
        Path("models"),
        description="Installed models (<name>/<version>/<file>), model_manifest.json and the current-model pointers.",
    )
    llm_threads: int = Field(
        0, validate_default=True,
        description="CPU threads llama.cpp uses for summaries (0 = one per core of this machine).",
    )

    @field_validator("llm_threads")
    @classmethod
    def _threads_default_to_cores(cls, value: int) -> int:
        return value if value > 0 else (os.cpu_count() or 1)

    # --- agent_dvr (camera capture) -----------------------------------------------------------
    dvr_cameras_file: Path = Field(
        Path("agent_dvr/cameras.yaml"),
        description="Cameras to record (YAML); when the file is missing one camera 'dvr' uses DVR_DEFAULT_URL.",
    )
    dvr_default_url: str = Field(
        "rtsp://{dvr_ip}:554/stream1",
        description="URL template of the default camera; {dvr_ip} is replaced by DVR_IP.",
    )
    dvr_rtsp_transport: Literal["tcp", "udp"] = Field("tcp", description="RTSP transport for cameras.")
    dvr_segment_seconds: float = Field(60.0, gt=0, description="Length of each recorded segment (s).")
    dvr_stall_timeout_s: float = Field(
        20.0, gt=0, description="No new data for this long: the stream is stalled and ffmpeg restarts."
    )
    dvr_backoff_initial_s: float = Field(1.0, gt=0, description="First reconnect delay after a drop (s).")
    dvr_backoff_max_s: float = Field(60.0, gt=0, description="Longest reconnect delay (doubles up to this).")
    dvr_outage_alert_after_s: float = Field(
        60.0, ge=0, description="An outage longer than this raises an alert (s)."
    )
    dvr_min_free_mb: int = Field(
        1024, ge=0, description="Free space under input/ below this pauses recording with an alert (MB)."
    )
    dvr_raw_copy: bool = Field(False, description="Also keep an untouched copy of each segment in raw/.")
    dvr_snapshot_interval_s: float = Field(
        5.0, gt=0, description="Seconds between JPEG snapshots (state/snapshots/<camera>.jpg)."
    )
    dvr_http_host: str = Field("127.0.0.1", description="Address of the snapshot/metrics HTTP endpoint.")
    dvr_http_port: int = Field(
        8091, ge=0, le=65535, description="Port of the snapshot/metrics HTTP endpoint (0: any free port)."
    )

    # --- vv_ingest (extra content) ------------------------------------------------------------
    ingest_config_file: Path = Field(
        Path("vv_ingest/config.yaml"),
        description="vv_ingest rules: target format, library and curation (YAML, unknown keys refused).",
    )

    # --- tv_api -----------------------------------------------------------------------------
    tv_api_host: str = Field("127.0.0.1", description="Address `vv serve` binds (0.0.0.0 in a container).")
    tv_api_port: int = Field(8000, ge=0, le=65535, description="Port `vv serve` listens on.")
    tv_api_secrets_dir: Path = Field(
        Path("secrets"),
        description="Directory (0700) of tv_api's users, device-token registry and generated JWT key.",
    )
    tv_api_jwt_secret: SecretStr | None = Field(
        None,
        description="JWT signing key (>= 32 chars). Empty: /run/secrets/tv_api_jwt_secret, else a key "
        "file in TV_API_SECRETS_DIR generated on first start (0600).",
    )
    tv_api_access_token_minutes: int = Field(
        15, ge=1, description="Lifetime of an admin access token (cookie or Bearer)."
    )
    tv_api_refresh_token_hours: int = Field(
        168, ge=1, description="Lifetime of a refresh token (rotated on every refresh, revoked on logout)."
    )
    tv_api_display_token_days: int = Field(
        365, ge=1, description="Lifetime of a TV device token issued by `vv tokens issue` (revocable)."
    )
    tv_api_cookie_secure: bool = Field(
        True, description="Mark auth cookies Secure (HTTPS only); false only for plain-HTTP loopback/dev."
    )
    tv_api_login_max_failures: int = Field(
        5, ge=1, description="Failed logins allowed per client IP within the window before HTTP 429."
    )
    tv_api_login_window_seconds: int = Field(
        300, ge=1, description="Sliding window of the login rate limit, in seconds."
    )
    tv_api_trusted_proxies: str = Field(
        "",
        description="Reverse proxies (nginx) whose X-Real-IP / X-Forwarded-For names the client for the "
        "login throttle: comma-separated addresses, CIDR networks or host names (resolved when needed). "
        "Empty: none, every peer is the client (loopback is not trusted by default). "
        "The compose stack sets `nginx`.",
    )
    tv_api_request_timeout_s: float = Field(
        10.0, gt=0, description="A client must send a whole request (head and body) within this many "
        "seconds of its first byte or of connecting, else the connection is closed (slow or half-open "
        "clients). Idle keep-alive connections close after 5 s.",
    )
    tv_api_max_connections: int = Field(
        512, ge=1, description="Open connections `vv serve` keeps; a request beyond them gets 503 at once.",
    )
    tv_api_dvr_port: int = Field(
        554, ge=1, le=65535, description="TCP port of the DVR probed by /status (RTSP), at DVR_IP."
    )
    tv_api_snapshot_stale_seconds: float = Field(
        10.0, gt=0, description="A camera snapshot older than this is stale: the mirror shows the placeholder."
    )
    tv_api_playlist_stale_seconds: float = Field(
        600.0, gt=0, description="No successful playlist build for this long marks tv_scheduler DEGRADED in /status."
    )
    tv_api_min_free_gb: float = Field(
        2.0, ge=0, description="Free space on the storage root below this: /status DEGRADED."
    )
    tv_api_critical_free_gb: float = Field(
        0.5, ge=0, description="Free space on the storage root below this: /status UNHEALTHY."
    )
    tv_api_mirror_fps: float = Field(
        2.0, gt=0, le=30, description="Frames per second the MJPEG mirror sends."
    )
    tv_api_mirror_max_seconds: int = Field(
        3600, ge=1, description="An MJPEG mirror stream ends after this; the page reconnects by itself."
    )
    console_timezone: str = Field(
        "", description="IANA time zone of the times on the operator console, e.g. Europe/Madrid "
        "(empty: BOX_TIMEZONE)."
    )
    console_embedder_model: str = Field(
        "all-minilm-l6-v2",
        description="Text-embedding model (model manifest name, kind embedder) for the console's semantic "
        "search; empty or not installed: full-text search only.",
    )

    # --- tv_scheduler -------------------------------------------------------------------------
    tv_scheduler_config: Path = Field(
        Path("tv_scheduler/config.yaml"),
        description="TV rules file (relative: from the working directory, else the repository).",
    )
    schedule_interval_s: float = Field(
        60.0, gt=0, description="Safety net: full rescan of loglines/ every N seconds."
    )
    schedule_debounce_s: float = Field(
        0.5, gt=0, description="Quiet time after new LogLines before the playlists are rebuilt."
    )

    # --- transparency: Merkle tree, signed checkpoints, witnesses (issue 20) ------------------------
    checkpoint_key_store_path: Path = Field(
        Path("secrets/checkpoint_keys.json"),
        description="Ed25519 checkpoint-signing key store (the HMAC key store's format, mode 0600).",
    )
    transparency_origin: str = Field(
        "vv.local/loglines", pattern=r"^[^\s+]+$",
        description="Checkpoint origin line and signing key name: unique to this box (no spaces or '+').",
    )
    transparency_witnesses: str = Field(
        "", description="Witnesses that cosign checkpoints: 'URL VERIFIER_KEY' pairs, comma-separated.",
    )
    transparency_witness_timeout_s: float = Field(
        3.0, gt=0, description="Timeout of one push to a witness (the pipeline never waits longer).",
    )
    transparency_witness_retry_s: float = Field(
        60.0, ge=0, description="After a failed push, a witness is skipped for this many seconds.",
    )
    witness_key_store_path: Path = Field(
        Path("secrets/witness_keys.json"),
        description="`vv witness serve`: its Ed25519 cosigning key store (created if missing, mode 0600).",
    )
    witness_name: str = Field(
        "vv-witness", pattern=r"^[^\s+]+$", description="`vv witness serve`: the witness's key name.",
    )
    witness_logs: str = Field(
        "", description="`vv witness serve`: verifier keys of the logs it cosigns, comma-separated.",
    )
    witness_state_dir: Path = Field(
        Path("witness"), description="`vv witness serve`: where the last cosigned checkpoint of each log is kept.",
    )

    @property
    def storage(self) -> StorageLayout:
        return StorageLayout(self.video_storage_root)

    def stage_timeout_s(self, stage: str) -> float:
        return float(getattr(self, f"stage_timeout_{stage}_s"))

    def stage_args(self, stage: str) -> list[str]:
        import shlex

        return shlex.split(str(getattr(self, f"stage_args_{stage}", "") or ""))

    def container_for(self, stage: str) -> str:
        return str(getattr(self, f"container_{stage}"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (read once). Tests build ``Settings(...)`` directly instead."""
    return Settings()
