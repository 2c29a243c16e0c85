"""summarize_scene benchmark: our stage vs raw llama_cpp.Llama on the same prompt, same run.

    python benchmarks/bench_summarize.py [--runs 5] [--threads 2]

Measures, with the Gemma 3 270M test GGUF (the manifest's pypi-assemble entry; assembled once into
~/.cache/vv-video-ai/models/<sha256>/):
- model load: sha256 verification and llama.cpp load, separately;
- warm summary latency: summarize() (read analytic, facts, prompt, generate, parse, validate, atomic
  write) vs raw ``Llama.create_completion`` of the identical prompt and parameters on the same loaded
  model, interleaved so both see the same cache state → overhead ratio;
- the grammar path: the same summary forced through the JSON-schema grammar, vs the free path;
- cold: one summary in a fresh process via the CLI (start + import + verify + load + restore the saved
  prompt-prefix state + generate + write); the first process ever also evaluates and saves that state.
Prints a Markdown table (docs/performance.md keeps a copy).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

from summarize_scene import engine  # noqa: E402
from summarize_scene.config import SummarizeConfig, load_config  # noqa: E402
from summarize_scene.facts import scene_facts  # noqa: E402
from summarize_scene.llm_model import resolve_current_llm  # noqa: E402
from summarize_scene.pipeline import summarize  # noqa: E402
from summarize_scene.prompt import load_prompt  # noqa: E402
from vv_cli.settings import Settings  # noqa: E402
from vv_core.hashing import compute_sha256  # noqa: E402
from vv_core.models import install_model, load_manifest, use_model  # noqa: E402

ANALYTIC = {
    "schema_version": "1.0", "id": "cam1_20261121T101500Z", "source": "input/cam1/20261121T101500Z.mp4",
    "source_hash": "9f2c1e7d4b3a5968e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
    "created_at": "2026-11-21T10:16:01.500Z", "recorded_at": "2026-11-21T10:15:00Z", "camera": "cam1",
    "video": {"duration_s": 60.0, "fps": 25.0, "width": 1280, "height": 720, "codec": "h264"},
    "model": {"name": "det", "version": "1", "backend": "onnxruntime", "input_size": 640,
              "sha256": "31e20dde3def09e2cf938c7be6fe23d9150bbbe503982af13345706515f2ef95"},
    "faces": {"engine": "dlib_hog", "degraded": False},
    "sampling": {"interval_s": 1.0, "frames_sampled": 60, "frames_inferred": 14, "frames_skipped_motion": 46},
    "detections": [{"timestamp": float(t), "type": "object", "label": "person", "confidence": 0.9,
                    "bbox": [0.1, 0.2, 0.3, 0.9]} for t in range(8)]
    + [{"timestamp": 2.0, "type": "object", "label": "bicycle", "confidence": 0.7, "bbox": [0.2, 0.5, 0.4, 0.9]}],
}


def prepare_models_dir(root: Path) -> Path:
    manifest = load_manifest(REPO / "models" / "model_manifest.json")
    entry = manifest.find("gemma3-270m", "q4_k_m-1.0.0")
    cache = Path.home() / ".cache" / "vv-video-ai" / "models" / entry.sha256
    cached = install_model(entry, cache)
    models_dir = root / "models"
    target = entry.install_path(models_dir)
    target.parent.mkdir(parents=True)
    os.link(cached, target)
    use_model(models_dir, entry)
    return models_dir


def ms(seconds: float) -> float:
    return seconds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-summarize-") as scratch:
        root = Path(scratch)
        models_dir = prepare_models_dir(root)
        storage = root / "storage"
        analytic = storage / "analytic" / f"{ANALYTIC['id']}.analytic.json"
        analytic.parent.mkdir(parents=True)
        analytic.write_text(json.dumps(ANALYTIC))
        settings = Settings(video_storage_root=storage, models_dir=models_dir, llm_threads=args.threads)
        config, prompt = load_config(), load_prompt()
        current = resolve_current_llm(models_dir)
        generation = config.generation

        # Load: verification and llama.cpp load, measured apart.
        started = time.perf_counter()
        compute_sha256(current.path)
        verify_ms = ms(time.perf_counter() - started)
        model, _ = engine.load_model(current.path, current.sha256, n_threads=args.threads, n_ctx=generation.n_ctx,
                                     verify=lambda: None)
        load_ms = model.load_ms

        facts = scene_facts(ANALYTIC, config)
        raw_prompt = prompt.render(facts) + prompt.free_prefix

        def raw_free() -> tuple[float, int]:
            t0 = time.perf_counter()
            out = model.llm.create_completion(raw_prompt, max_tokens=generation.free.max_tokens, temperature=0.0,
                                              top_k=1, stop=list(prompt.stop), seed=0)
            return ms(time.perf_counter() - t0), out["usage"]["completion_tokens"]

        def stage(cfg=config) -> tuple[float, dict]:
            t0 = time.perf_counter()
            result = summarize(analytic, None, settings, config=cfg, prompt=prompt, models_dir=models_dir)
            return ms(time.perf_counter() - t0), result.document

        stage()  # warm-up: fills the prompt prefix cache the same way for both sides
        raw_free()
        stage_ms, raw_ms, stage_tokens, raw_tokens, paths, own_work = [], [], [], [], [], []
        for _ in range(args.runs):
            elapsed, document = stage()
            stage_ms.append(elapsed)
            stage_tokens.append(document["timings"]["generated_tokens"])
            paths.append(document["generation_path"])
            # Inside one call: everything the stage does besides llama.cpp generating (immune to the
            # run-to-run noise that separate stage/raw calls suffer on a loaded machine).
            own_work.append((elapsed - document["timings"]["generate_ms"]) / document["timings"]["generate_ms"])
            elapsed, tokens = raw_free()
            raw_ms.append(elapsed)
            raw_tokens.append(tokens)

        forced = SummarizeConfig.model_validate(
            {**config.model_dump(), "generation": {**generation.model_dump(), "free": {"max_tokens": 3}}})
        grammar_ms, grammar_tokens = [], []
        for _ in range(max(2, args.runs // 2)):
            elapsed, document = stage(forced)
            assert document["generation_path"] == "grammar"
            grammar_ms.append(elapsed)
            grammar_tokens.append(document["timings"]["generated_tokens"])
        engine.clear_cache()

        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "vv-core")]),
               "VIDEO_STORAGE_ROOT": str(storage), "MODELS_DIR": str(models_dir), "LLM_THREADS": str(args.threads)}
        cold, cold_docs = [], []
        for _ in range(1 + args.runs):  # the first process builds the prompt-prefix state, the rest restore it
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "summarize_scene.summarize_scene", str(analytic)], env=env,
                           check=True, capture_output=True)
            cold.append(ms(time.perf_counter() - t0))
            cold_docs.append(json.loads((storage / "summaries" / f"{ANALYTIC['id']}.summary.json").read_text()))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import summarize_scene.summarize_scene, llama_cpp"], env=env,
                       check=True, capture_output=True)
        bare_process_ms = ms(time.perf_counter() - t0)

    med = statistics.median
    stage_med, raw_med = med(stage_ms), med(raw_ms)
    rows = [
        ("sha256 verification of the GGUF (253 MB)", f"{verify_ms:.0f} ms", ""),
        ("llama.cpp model load", f"{load_ms:.0f} ms", ""),
        ("raw Llama.create_completion, same prompt (warm)", f"{raw_med:.0f} ms",
         f"{med(raw_tokens):.0f} tok, {med(raw_tokens) / (raw_med / 1000):.0f} tok/s"),
        ("summarize() free path (warm, incl. read/validate/write)", f"{stage_med:.0f} ms",
         f"{med(stage_tokens):.0f} tok; paths {sorted(set(paths))}"),
        ("**stage overhead vs raw (free path), wall time**", f"**{stage_med / raw_med:.3f}×**",
         f"{stage_med - raw_med:+.0f} ms (median of separate calls)"),
        ("**stage's own work / its generation time, same call**", f"**{med(own_work) * 100:.1f} %**",
         "read, facts, prompt, parse, validate, atomic write"),
        ("summarize() grammar path (free pass cut at 3 tokens + grammar)", f"{med(grammar_ms):.0f} ms",
         f"{med(grammar_tokens):.0f} tok; {med(grammar_ms) / stage_med:.2f}× the free path"),
        ("CLI, first process ever (evaluates and saves the prompt-prefix state)", f"{cold[0]:.0f} ms",
         f"stage total_ms {cold_docs[0]['timings']['total_ms']:.0f} (load_ms {cold_docs[0]['timings']['load_ms']:.0f}"
         f", generate_ms {cold_docs[0]['timings']['generate_ms']:.0f})"),
        ("**CLI cold summary (new process: start + imports + verify + load + restore prefix + generate + write)**",
         f"**{med(cold[1:]):.0f} ms**",
         f"stage total_ms {med(d['timings']['total_ms'] for d in cold_docs[1:]):.0f} "
         f"(load_ms {med(d['timings']['load_ms'] for d in cold_docs[1:]):.0f}, generate_ms "
         f"{med(d['timings']['generate_ms'] for d in cold_docs[1:]):.0f}, "
         f"{cold_docs[-1]['timings']['prompt_tokens_restored']} of {cold_docs[-1]['timings']['prompt_tokens']} "
         f"prompt tokens restored)"),
        ("a process that only starts and imports the stage and llama_cpp", f"{bare_process_ms:.0f} ms",
         "the floor under the cold figure that the stage cannot shorten"),
    ]
    load1, load5, _ = os.getloadavg()
    print(f"summarize_scene benchmark — Gemma 3 270M Q4_K_M, {args.threads} thread(s), "
          f"{args.runs} interleaved runs (median); {os.cpu_count()} cores, load average {load1:.1f} "
          f"(5 min {load5:.1f}) at the end\n")
    print("| measurement | value | notes |\n|---|---|---|")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
