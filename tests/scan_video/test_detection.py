"""Real models on real footage: people at the right times, faces, both backends agreeing."""

import json
from collections import defaultdict

import pytest

from scan_video.detect import box_iou
from scan_video.faces import HaarFaceFinder, create_face_finder
from scan_video.scanner import ScanEngine, scan
from vv_core.schema import validate_schema

pytestmark = pytest.mark.slow

NOBODY = {0.0, 1.0, 2.0}          # people_clip: moving gradient, no people
ZIDANE = {3.0, 4.0, 5.0}          # two men, faces clearly visible
BUS = {6.0, 7.0, 8.0}             # four people in front of a bus


def planned_times(analytic):
    sampling, video = analytic["sampling"], analytic["video"]
    fps, step = video["fps"], sampling["interval_s"]
    count = int(video["duration_s"] / step) + 1
    return sorted({round(int(k * step * fps + 0.5) / fps, 6) for k in range(count)})  # as plan_samples


def active_times(analytic, planned):
    """Where adaptive sampling may add samples: every active_interval_s after each planned one."""
    sampling, fps = analytic["sampling"], analytic["video"]["fps"]
    step = sampling.get("active_interval_s") or 0
    if not step:
        return []
    return sorted({round(int((t + k * step) * fps + 0.5) / fps, 6) for t in planned
                   for k in range(1, int(sampling["interval_s"] / step) + 1)})


def by_time(analytic, kind, label=None):
    """Detections grouped by the planned sample (one per SCAN_INTERVAL_S) whose second they belong
    to. A sample (planned, or added while the scene moved) may move forward by at most
    SCAN_FRAME_TOLERANCE_S onto the next decoded frame (non-reference frames skipped)."""
    tolerance = analytic["sampling"]["frame_tolerance_s"]
    planned = planned_times(analytic)
    possible = sorted(set(planned) | set(active_times(analytic, planned)))
    grouped = defaultdict(list)
    for det in analytic["detections"]:
        if det["type"] == kind and (label is None or det["label"] == label):
            sample = max(t for t in possible if t <= det["timestamp"] + 1e-6)
            assert det["timestamp"] - sample <= tolerance + 1e-6, det["timestamp"]
            grouped[max(t for t in planned if t <= sample)].append(det)
    return grouped


@pytest.fixture(scope="session")
def onnx_people(tmp_path_factory, people_clip, session_settings, onnx_engine):
    out = tmp_path_factory.mktemp("analytic-onnx")
    return scan(people_clip, out, session_settings, engine=onnx_engine)


@pytest.fixture(scope="session")
def ultralytics_people(tmp_path_factory, people_clip, session_settings, ultralytics_engine):
    out = tmp_path_factory.mktemp("analytic-ultra")
    return scan(people_clip, out, session_settings, engine=ultralytics_engine)


def test_analytic_is_written_valid_and_complete(onnx_people, people_clip, session_settings):
    written = json.loads(onnx_people.path.read_text())
    validate_schema(written, "analytic")
    assert onnx_people.path.name == "people_720p.analytic.json"
    assert written["video"] | {"size_bytes": 0} == {
        "duration_s": pytest.approx(9.0, abs=0.1), "fps": 25.0, "width": 1280, "height": 720, "codec": "h264",
        "size_bytes": 0}
    from vv_core.hashing import compute_sha256

    assert written["source_hash"] == compute_sha256(people_clip)
    assert written["model"]["backend"] == "onnxruntime" and written["model"]["input_size"] == 640
    assert written["model"]["sha256"] == onnx_people.analytic["model"]["sha256"]
    assert written["faces"] == {"engine": "dlib_hog", "degraded": False}
    sampling = written["sampling"]
    assert sampling["frames_sampled"] == 9 + sampling["frames_active"]  # + the samples taken while it moved
    assert sampling["frames_inferred"] + sampling["frames_skipped_motion"] == sampling["frames_sampled"]
    assert sampling["frames_decoded"] < 9 * 25  # samples were reached by seeking, not decoding everything
    assert {"probe_ms", "decode_ms", "inference_ms", "faces_ms", "total_ms"} <= set(written["timings"])


def test_people_are_found_exactly_when_they_are_in_view(onnx_people):
    people = by_time(onnx_people.analytic, "object", "person")
    assert set(people) >= ZIDANE | BUS
    assert not set(people) & NOBODY
    assert all(len(people[t]) >= 2 for t in ZIDANE)
    assert max(len(people[t]) for t in BUS) >= 3
    for t in ZIDANE | BUS:
        assert all(d["confidence"] >= 0.25 for d in people[t])


def test_faces_are_found_inside_person_boxes(onnx_people):
    faces = by_time(onnx_people.analytic, "face")
    people = by_time(onnx_people.analytic, "object", "person")
    # Searched once a sample joins a person track (its 2nd sample), not on every sample.
    assert sum(len(faces[t]) for t in ZIDANE) >= 2, faces.keys()
    assert not set(faces) & NOBODY
    for t, found in faces.items():
        for face in found:
            x1, y1, x2, y2 = face["bbox"]
            assert any(p["bbox"][0] - 0.05 <= x1 and x2 <= p["bbox"][2] + 0.05 and p["bbox"][1] <= y1
                       and y2 <= p["bbox"][3] for p in people[t])


def test_both_backends_agree(onnx_people, ultralytics_people):
    """Same frames, same weights (.pt vs its fp32 ONNX export): the same people, boxes and scores."""
    assert ultralytics_people.analytic["model"]["backend"] == "ultralytics"
    ours = by_time(onnx_people.analytic, "object")
    theirs = by_time(ultralytics_people.analytic, "object")
    confident = [(t, d) for t, ds in ours.items() for d in ds if d["confidence"] >= 0.5]
    assert len(confident) >= 10
    matched = 0
    for t, det in confident:
        best = max((box_iou(det["bbox"], o["bbox"]) for o in theirs.get(t, []) if o["label"] == det["label"]),
                   default=0.0)
        partner = [o for o in theirs.get(t, []) if box_iou(det["bbox"], o["bbox"]) == best]
        if best >= 0.8 and abs(partner[0]["confidence"] - det["confidence"]) <= 0.1:
            matched += 1
    assert matched / len(confident) >= 0.9
    counts_ours = {t: len(ds) for t, ds in by_time(onnx_people.analytic, "object", "person").items()}
    counts_theirs = {t: len(ds) for t, ds in by_time(ultralytics_people.analytic, "object", "person").items()}
    assert set(counts_ours) == set(counts_theirs)


def test_bikes_people_on_bikes(tmp_path, bikes_clip, session_settings, onnx_engine):
    """The PyPI model is a fall detector: riders bent over bikes often come out as "Fall"
    (renamed person_fallen); upright riders as person; it reports riders from 4 s on. Frame-exact
    samples, one a second (adaptive sampling off): these expectations are about what the model says
    on those very frames."""
    config = onnx_engine.config.model_copy(update={"frame_tolerance_s": 0.0, "active_fps": 0.0})
    exact = ScanEngine(config, onnx_engine.model, onnx_engine.detector, onnx_engine.faces)
    result = scan(bikes_clip, tmp_path, session_settings, engine=exact)
    assert result.analytic["video"]["width"] == 640 and result.analytic["video"]["height"] == 272
    assert result.sampling["frames_sampled"] == 10
    anyone = {d["timestamp"] for d in result.analytic["detections"] if d["label"] in {"person", "person_fallen"}}
    assert len(anyone) >= 4 and min(anyone) >= 3.0
    upright = by_time(result.analytic, "object", "person")
    assert {5.0, 8.0} <= set(upright)
    x1, _, x2, _ = upright[5.0][0]["bbox"]
    assert 0.45 < (x1 + x2) / 2 < 0.75  # the rider in the right half of the frame at 5 s


def test_shipped_fp16_onnx_runs_and_finds_the_same_people(tmp_path, people_clip, session_settings, onnx_engine):
    from scan_video.config import ScanConfig
    from tests.scan_video.media import PYPI_PERSON_ONNX16

    config = onnx_engine.config.model_copy(update={"detector_model": PYPI_PERSON_ONNX16, "face_engine": "disabled",
                                                   "interval_s": 1.5, "motion_gating": False})
    engine = ScanEngine.load(ScanConfig(**config.model_dump()))
    result = scan(people_clip, tmp_path, session_settings, engine=engine)
    people = by_time(result.analytic, "object", "person")
    assert set(people) == {3.0, 4.52, 6.0, 7.52}  # samples at frames 0 38 75 113 150 188
    assert result.analytic["faces"]["engine"] == "disabled"
    assert not by_time(result.analytic, "face")


def test_haar_fallback_is_labelled_degraded_when_dlib_is_missing(monkeypatch, tmp_path, people_clip,
                                                                session_settings, onnx_engine):
    monkeypatch.setitem(__import__("sys").modules, "dlib", None)  # as if dlib were not installed
    finder = create_face_finder("dlib_hog")
    assert isinstance(finder, HaarFaceFinder) and finder.degraded and finder.engine == "opencv_haar"
    config = onnx_engine.config.model_copy(update={"interval_s": 3.0})
    engine = ScanEngine(config, onnx_engine.model, onnx_engine.detector, finder)
    result = scan(people_clip, tmp_path, session_settings, engine=engine)
    assert result.analytic["faces"] == {"engine": "opencv_haar", "degraded": True}
    faces = by_time(result.analytic, "face")
    assert faces[3.0] and not faces[0.0]  # samples at 0 (nobody), 3 (zidane), 6 (bus)
    assert create_face_finder("opencv_haar").degraded is False


def test_cnn_face_engine_finds_faces_in_a_person_crop(onnx_engine):
    import cv2

    from tests.scan_video.media import asset

    image = cv2.resize(cv2.imread(str(asset("zidane.jpg"))), (640, 360))  # the CNN is slow on CPU
    people = [d.box for d in onnx_engine.detector.detect(image) if d.class_name == "Normal"]
    finder = create_face_finder("dlib_cnn", min_size=200)
    assert finder.engine == "dlib_cnn" and not finder.degraded
    faces = finder.find(image, people)
    assert len(faces) >= 2 and all(0 < f.confidence <= 1 for f in faces)


def zidane_people(onnx_engine):
    import cv2

    from tests.scan_video.media import asset

    image = cv2.imread(str(asset("zidane.jpg")))
    return image, [d.box for d in onnx_engine.detector.detect(image) if d.class_name == "Normal"]


def test_installed_hog_detector_is_dlibs_own_and_finds_the_same_faces(models_dir, onnx_engine):
    from scan_video.faces import FRONTAL_FACE_HOG
    from vv_core.models import load_manifest

    # Installed by the fixture through the manifest's pypi-assemble step: the sha256 pinned in the
    # manifest matched the bytes dlib saved on this machine.
    entry = load_manifest(models_dir / "model_manifest.json").find(FRONTAL_FACE_HOG)
    assert entry.install_path(models_dir).is_file() and entry.kind == "face"
    image, people = zidane_people(onnx_engine)
    installed = create_face_finder("dlib_hog", models_dir=models_dir)
    built = create_face_finder("dlib_hog")
    assert (installed.hog_source, built.hog_source) == ("installed", "dlib")
    found, expected = installed.find(image, people), built.find(image, people)
    assert found  # the face of the man on the right
    assert [(f.box, round(f.confidence, 6)) for f in found] == [(f.box, round(f.confidence, 6)) for f in expected]


def test_a_tampered_hog_file_is_never_loaded(tmp_path, models_dir, onnx_engine, caplog):
    import shutil

    from scan_video.faces import FRONTAL_FACE_HOG
    from vv_core.models import load_manifest

    copy = tmp_path / "models"
    shutil.copytree(models_dir, copy, symlinks=True)
    path = load_manifest(copy / "model_manifest.json").find(FRONTAL_FACE_HOG).install_path(copy)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.unlink()
    path.write_bytes(bytes(data))
    with caplog.at_level("WARNING", logger="scan_video"):
        finder = create_face_finder("dlib_hog", models_dir=copy)
    assert finder.hog_source == "dlib" and "saved face detector refused" in caplog.text
    image, people = zidane_people(onnx_engine)
    assert finder.find(image, people)  # dlib's own copy: the same face, just slower to build


def test_faces_are_searched_on_a_few_samples_of_each_person_track(tmp_path, people_clip, session_settings,
                                                                   onnx_engine):
    """SCAN_FACE_MATCHES_PER_TRACK=1: one face per person track, not one per sample it was seen on."""
    from scan_video.config import ScanConfig

    config = ScanConfig.from_settings(session_settings, face_matches_per_track=1)
    analytic = scan(people_clip, tmp_path, session_settings, config=config, engine=onnx_engine).analytic
    faces = by_time(analytic, "face")
    people = [e for e in analytic["events"] if e["label"] == "person"]
    found = {t: len(f) for t, f in faces.items()}
    assert any(t in ZIDANE for t in found) and not set(found) & NOBODY, found
    assert 2 <= sum(found.values()) <= len(people), (found, len(people))
