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


def test_a_known_face_names_its_person_event_and_nobody_else(tmp_path, people_clip, empty_clips, session_settings,
                                                              faces):
    settings = session_settings.model_copy(update={"video_storage_root": tmp_path / "storage"})
    add_faces(library_path(settings.video_storage_root), "Carlo", [faces["right_man"]])
    engine = ScanEngine.load(ScanConfig.from_settings(settings))
    assert engine.known_faces and engine.encoder is not None
    # Footage with nobody in it never loads the face encoder (dlib's import and models, ~0.5 s).
    scan(empty_clips["empty_scene"], tmp_path / "analytic", settings, engine=engine)
    assert not engine.encoder.loaded
    analytic = scan(people_clip, tmp_path / "analytic", settings, engine=engine).analytic
    assert engine.encoder.loaded
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
        return subprocess.run([sys.executable, "-m", "vv_cli.main", "faces", *args], capture_output=True, text=True,
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
    from tv_api.console.faces import FaceStore  # a picture the console took in: list looks at it

    FaceStore(tmp_path / "storage" / "state" / "faces").add_picture("Bus", faces["bus"].read_bytes(), "upload")
    listed = vv("list")
    assert listed.stdout.strip() == "Bus\t0" and "not usable: 2 faces found" in listed.stderr


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
    strangers = summary["people"]["unrecognised"]  # who and the summary both count them beside Carlo
    assert f"Recognised: Carlo and {strangers} unrecognised people." in summary["summary"]
    assert logline_fields(summary, root / "summaries" / "x.json", root)["who"] == \
        f"Carlo and {strangers} unrecognised people at cam1"


def test_a_face_the_console_adds_from_a_snapshot_crop_names_that_person_on_the_rescan(tmp_path, people_clip,
                                                                                       session_settings):
    """The console's Faces page and the scanner share one library: the console stores the scanner's own
    crop of the person (as the "Add from this snapshot" action does), the next scan encodes and names it."""
    from tv_api.console.faces import FaceStore
    from tv_api.console.frames import event_crop

    root = tmp_path / "storage"
    settings = session_settings.model_copy(update={"video_storage_root": root})
    first = scan(people_clip, root / "analytic", settings, engine=ScanEngine.load(ScanConfig.from_settings(settings)))
    assert not any(e.get("identity", {}).get("name") for e in first.analytic["events"])
    zidane_part = [e for e in first.analytic["events"] if e["label"] == "person" and 3.0 <= e["first_seen_s"] < 6.0]
    right_man = max(zidane_part, key=lambda e: e["best"]["bbox"][0])
    console_event = {"id": "cam1_x", "analytic_path": first.path.relative_to(root).as_posix(),
                     "snapshot_times": f"{right_man['snapshot']['timestamp']:.2f}"}
    crop = event_crop(settings.storage, console_event, 0)
    assert crop == root / right_man["snapshot"]["crop"]
    store = FaceStore(root / "state" / "faces")
    store.add_picture("Carlo", crop.read_bytes(), "event cam1_x crop")
    store.add_picture("Bus", media.asset("bus.jpg").read_bytes(), "upload bus.jpg")
    assert [p["status"] for person in store.list() for p in person.pictures] == [
        "not encoded yet (the next scan does it)"] * 2

    second = scan(people_clip, root / "analytic", settings, engine=ScanEngine.load(ScanConfig.from_settings(settings)))
    named = [e for e in second.analytic["events"] if e.get("identity", {}).get("name") == "Carlo"]
    assert len(named) == 1 and 3.0 <= named[0]["first_seen_s"] < 6.0
    assert {p.name: p.pictures[0]["status"] for p in store.list()} == {
        "Bus": "not usable: 2 faces found", "Carlo": "usable"}
    assert list_people(library_path(root)) == {"Bus": 0, "Carlo": 1}
    assert stat.S_IMODE(library_path(root).stat().st_mode) == 0o600


def test_a_first_format_library_is_migrated_once_and_the_console_keeps_its_encodings(tmp_path):
    from tv_api.console.faces import FaceStore

    path = library_path(tmp_path)
    path.parent.mkdir(parents=True)
    encoding = [0.01 * i for i in range(128)]
    path.write_text(json.dumps({"format": "vv-faces/1", "people": {"Carlo": [encoding]}}))
    assert load_library(path) == {"Carlo": [encoding]}
    assert json.loads(path.read_text())["format"] == "vv-faces/2"
    store = FaceStore(path.parent)
    (carlo,) = store.list()
    store.rename(carlo.id, "Carlo Ancelotti")
    assert load_library(path) == {"Carlo Ancelotti": [encoding]}
    assert remove_person(path, "carlo ancelotti") and load_library(path) == {} and store.list() == []
