"""Known faces: the library (real dlib encodings of real photos), names on person events, `vv faces`."""

import json
import stat
import subprocess
import sys

import cv2
import pytest

from scan_video.config import ScanConfig
from scan_video.face_library import (
    FaceLibraryError,
    add_faces,
    best_match,
    library_path,
    list_people,
    load_library,
    remove_person,
)
from scan_video.scanner import ScanEngine, scan
from tests.helpers import repo_env
from tests.scan_video import media

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def faces(tmp_path_factory):
    """The man on the right of zidane.jpg (the one face dlib's HOG finds there), alone; bus.jpg (two
    faces: other people)."""
    folder = tmp_path_factory.mktemp("faces")
    image = cv2.imread(str(media.asset("zidane.jpg")))
    cv2.imwrite(str(folder / "right_man.jpg"), image[:, int(image.shape[1] * 0.58):])
    return {"right_man": folder / "right_man.jpg", "bus": media.asset("bus.jpg"), "folder": folder}


def test_the_library_keeps_encodings_private_and_refuses_bad_input(tmp_path, faces):
    path = library_path(tmp_path)
    assert list_people(path) == {}
    assert add_faces(path, "Carlo", [faces["right_man"]]) == 1
    assert add_faces(path, "Carlo", [media.asset("zidane.jpg")]) == 2  # the whole photo: still one face
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list_people(path) == {"Carlo": 2}
    first, second = load_library(path)["Carlo"]
    assert len(first) == 128 and best_match(second, {"Carlo": [first]}, 0.6) == "Carlo"
    with pytest.raises(FaceLibraryError, match="2 faces found; the image must show exactly one"):
        add_faces(path, "Bus", [faces["bus"]])
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(FaceLibraryError, match="not a readable image"):
        add_faces(path, "Someone", [faces["right_man"], tmp_path / "notes.jpg"])
    with pytest.raises(FaceLibraryError, match=r"name '\.\./x'"):
        add_faces(path, "../x", [faces["right_man"]])
    assert list_people(path) == {"Carlo": 2}  # nothing written by the failed calls
    assert remove_person(path, "Carlo") and not remove_person(path, "Carlo")
    assert list_people(path) == {}
    path.write_text("{broken")
    with pytest.raises(FaceLibraryError, match="unreadable"):
        load_library(path)


def test_a_known_face_names_its_person_event_and_nobody_else(tmp_path, people_clip, session_settings, faces):
    settings = session_settings.model_copy(update={"video_storage_root": tmp_path / "storage"})
    add_faces(library_path(settings.video_storage_root), "Carlo", [faces["right_man"]])
    engine = ScanEngine.load(ScanConfig.from_settings(settings))
    assert engine.known_faces and engine.encoder is not None
    analytic = scan(people_clip, tmp_path / "analytic", settings, engine=engine).analytic
    assert analytic["faces"]["known_faces"] == 1
    identified = {e["id"]: e["identity"] for e in analytic["events"] if "identity" in e}
    named = [e for e in analytic["events"] if e.get("identity", {}).get("name") == "Carlo"]
    assert len(named) == 1 and 3.0 <= named[0]["first_seen_s"] < 6.0  # the zidane.jpg part
    assert named[0]["identity"]["matched"] >= 0.9 * named[0]["identity"]["faces"]
    others = [identity for key, identity in identified.items() if key != named[0]["id"]]
    assert len(others) >= 2  # bus.jpg people whose faces were seen
    assert all(identity["name"] is None for identity in others)  # faces seen, never a wrong name
    assert all(identity["faces"] <= 3 for identity in identified.values())  # a few crops per track


def test_a_broken_library_is_logged_and_the_scan_goes_on(tmp_path, people_clip, session_settings, caplog):
    settings = session_settings.model_copy(update={"video_storage_root": tmp_path / "storage"})
    path = library_path(settings.video_storage_root)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": "something else"}))
    engine = ScanEngine.load(ScanConfig.from_settings(settings))
    assert engine.known_faces == {} and engine.encoder is None
    assert "known faces not used" in caplog.text


def test_vv_faces_commands(tmp_path, faces):
    env = repo_env(VIDEO_STORAGE_ROOT=str(tmp_path / "storage"))

    def vv(*args):
        return subprocess.run([sys.executable, "-m", "scripts.vv", "faces", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)

    assert vv("list").stdout.strip() == "no known faces"
    added = vv("add", "Carlo", str(faces["right_man"]))
    assert added.returncode == 0 and added.stdout.strip() == "Carlo: 1 face encoding"
    assert vv("list").stdout.strip() == "Carlo\t1"
    refused = vv("add", "Bus", str(faces["bus"]))
    assert refused.returncode == 1 and refused.stderr.strip().endswith("the image must show exactly one")
    assert vv("remove", "Carlo").stdout.strip() == "Carlo: removed"
    missing = vv("remove", "Carlo")
    assert missing.returncode == 1 and missing.stderr.strip() == "error: 'Carlo' is not in the face library"


def test_the_logline_says_who_was_recognised(tmp_path, people_clip, session_settings, faces):
    """Scan (with a known face) → summary (template) → LogLine content, on the real clip."""
    import shutil

    from logline_generator.content import logline_fields
    from summarize_scene.pipeline import summarize

    root = tmp_path / "storage"
    settings = session_settings.model_copy(update={"video_storage_root": root})
    add_faces(library_path(root), "Carlo", [faces["right_man"]])
    video = root / "input" / "cam1" / "20261121T101500Z.mp4"
    video.parent.mkdir(parents=True)
    shutil.copyfile(people_clip, video)
    scanned = scan(video, root / "analytic", settings, engine=ScanEngine.load(ScanConfig.from_settings(settings)))
    summary = summarize(scanned.path, settings=settings, models_dir=tmp_path / "no-llm").document
    assert summary["people"]["known"] == ["Carlo"] and summary["people"]["unrecognised"] >= 2
    assert "Recognised: Carlo." in summary["summary"]
    assert logline_fields(summary, root / "summaries" / "x.json", root)["who"] == "Carlo at cam1"
