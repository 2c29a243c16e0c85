"""`vv scan` as an operator runs it: whole process, default settings, one detector per row.

    python benchmarks/bench_scan_process.py [--cache DIR] [--repeat N] [--detectors A,B] [--env K=V ...]

Each row is one `vv scan CLIP` child process under ``/usr/bin/time -v``: interpreter start, imports,
model verification and load, probe, decode, inference, tracking, faces, snapshots and the analytic
write (the figure issue 17's speed target is about). Peak RSS is the child's ``Maximum resident set
size``. Rows alternate (A, B, A, B…) so the shared box's load falls on every detector alike.

Clips (1280×720, 25 fps, H.264): ``people60`` = 30 s of zidane.jpg then 30 s of bus.jpg, slowly
panning (people and motion in every second); ``quiet60`` = 60 s of a still street with nobody in it
(the upper band of bus.jpg). The face library holds one person (the face encoder loads, as on a box
whose operator added a face). Detectors are manifest names (``int8:NAME``: NAME quantized by
``scan_video.quantize``, pinned in the bench's models dir; ``NAME@ultralytics``: on that backend;
as in bench_accuracy.py).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core"), str(REPO / "benchmarks")]
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "vv-ultralytics"))
VV = Path(sys.executable).parent / "vv"


def clips(cache: Path) -> dict[str, Path]:
    from tests.scan_video import media

    people = cache / "people60.mp4"
    if not people.exists():
        parts = [media.still_clip(media.asset("zidane.jpg"), 30, cache / "people60_a.mp4", pan=True),
                 media.still_clip(media.asset("bus.jpg"), 30, cache / "people60_b.mp4", pan=True)]
        media.concat(parts, people)
    return {"people60": people, "quiet60": media.empty_scene_clip(60, cache / "quiet60.mp4")}


def run_row(clip: Path, config, cache: Path, storage: Path, extra: dict[str, str]) -> dict:
    detector = config.detector_model
    out = storage / "analytic" / f"{detector}-{config.backend}"
    inside = storage / "input" / "cam1" / clip.name  # stage inputs live under the storage root
    if not inside.exists():
        inside.parent.mkdir(parents=True, exist_ok=True)
        os.link(clip, inside)
    clip = inside
    env = {**os.environ, "VIDEO_STORAGE_ROOT": str(storage), "MODELS_DIR": str(cache / "models"),
           "SCAN_DETECTOR_MODEL": detector, "SCAN_BACKEND": config.backend,
           "PYTHONPATH": f"{REPO}:{REPO / 'vv-core'}", **extra}
    done = subprocess.run(["/usr/bin/time", "-v", str(VV), "scan", str(clip), "--output-dir", str(out)],
                          cwd=cache, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{detector} {clip.name}: vv scan failed\n{done.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    seconds = int(wall[1] or 0) * 3600 + int(wall[2]) * 60 + float(wall[3])
    analytic = json.loads(next(out.glob(f"*{clip.stem}.analytic.json")).read_text())
    events = [e["label"] for e in analytic["events"]]
    return {"wall": seconds, "rss": int(rss[1]) / 1024, "duration": analytic["video"]["duration_s"],
            "events": ", ".join(f"{events.count(x)} {x}" for x in sorted(set(events))) or "none",
            "inferred": analytic["sampling"].get("frames_inferred"), "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vv-bench-accuracy")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--detectors", default="hfd-person-onnx-fp16,hfd-person-onnx-int8")
    parser.add_argument("--env", action="append", default=[], help="K=V passed to every child (all rows)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    from bench_accuracy import KNOWN, detector_config

    from scan_video.face_library import add_faces, library_path
    from tests.scan_video import media
    from vv_cli.settings import Settings

    models_dir = args.cache / "models"
    media.prepare_models_dir(models_dir, args.cache)
    storage = args.cache / "storage-process"
    settings = Settings(_env_file=None, video_storage_root=storage, models_dir=models_dir)
    specs = [s.strip() for s in args.detectors.split(",") if s.strip()]
    configs = {spec: detector_config(spec, settings, models_dir, args.cache, {}) for spec in specs}
    if not library_path(storage).exists():
        import cv2

        photo = cv2.imread(str(media.asset("zidane.jpg")))
        cv2.imwrite(str(args.cache / "known_face.jpg"), photo[:, int(photo.shape[1] * 0.58):])
        add_faces(library_path(storage), KNOWN, [args.cache / "known_face.jpg"])
    extra = dict(item.split("=", 1) for item in args.env)
    videos = clips(args.cache)
    print(f"children's extra environment: {extra or 'none'}")
    print("| clip | detector | run | wall s | real time × | peak RSS (MB) | inferred | events | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for clip_name, clip in videos.items():
        for run in range(1, args.repeat + 1):
            for spec in specs:
                row = run_row(clip, configs[spec], args.cache, storage, extra)
                print(f"| {clip_name} | {spec} | {run} | {row['wall']:.2f} | {row['duration'] / row['wall']:.1f} | "
                      f"{row['rss']:.0f} | {row['inferred']} | {row['events']} | {row['load']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
