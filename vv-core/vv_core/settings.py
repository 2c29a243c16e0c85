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
    key_store_path: Path = Field(
        Path("secrets/logline_keys.json"),
        description="HMAC key store (JSON, mode 0600, or a Docker secret under /run/secrets).",
    )
    dvr_ip: str = Field("127.0.0.1", description="Address of the default camera/DVR.")
    alert_webhook_url: str | None = Field(
        None, description="Webhook that receives alerts as JSON (empty: alerts are only logged)."
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
        "127.0.0.1,::1",
        description="Comma-separated peer addresses whose X-Real-IP / X-Forwarded-For is trusted (nginx).",
    )
    tv_api_dvr_port: int = Field(
        554, ge=1, le=65535, description="TCP port of the DVR probed by /status (RTSP), at DVR_IP."
    )
    tv_api_snapshot_stale_seconds: float = Field(
        10.0, gt=0, description="A camera snapshot older than this is stale: the mirror shows the placeholder."
    )
    tv_api_playlist_stale_seconds: float = Field(
        600.0, gt=0, description="Playlists older than this mark tv_scheduler DEGRADED in /status."
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

    @property
    def storage(self) -> StorageLayout:
        return StorageLayout(self.video_storage_root)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (read once). Tests build ``Settings(...)`` directly instead."""
    return Settings()
