"""The one settings model: environment variables and ``.env``, every one documented in .env.example.

Stages read what they need from here; YAML rule files (tv_scheduler/config.yaml, …) have their own
pydantic models next to the stage. Unknown ``VV_``-less variables in the environment are ignored
(the environment holds much else), but a typo'd key in ``.env`` is an error.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
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
    models_dir: Path = Field(
        Path("models"),
        description="Model manifest (model_manifest.json) and installed models (<name>/<version>/<file>).",
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

    @property
    def storage(self) -> StorageLayout:
        return StorageLayout(self.video_storage_root)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (read once). Tests build ``Settings(...)`` directly instead."""
    return Settings()
