"""summarize_scene: turn an analytic JSON into a human summary that drives the TVs.

    python -m summarize_scene.summarize_scene ANALYTIC.json [--output-dir DIR]
    python summarize_scene/summarize_scene.py ANALYTIC.json [--output-dir DIR]
    vv summarize ANALYTIC.json [--output-dir DIR]

Success: prints the summary path, exit 0. Failure: one line on stderr, nothing written; exit 1 for
bad input/configuration or a model that fails its hash, 2 for a model output refused even with the
grammar or an internal fault (a missed generation deadline writes a labelled template summary:
exit 0). The analytic must lie inside the storage root (the stage-input rule of vv_core.storage).
Library use: ``from summarize_scene.summarize_scene import summarize`` (keeps the model
loaded between calls); the CLI loads the model once per call, in the background from its start.
"""

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):  # run as a script: make the repo importable like `python -m` does
    _repo = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(_repo), str(_repo / "vv-core")]

from summarize_scene.settings import SummarizeSettings

if TYPE_CHECKING:
    from summarize_scene.pipeline import SummaryResult, summarize

__all__ = ["SummaryResult", "main", "run", "summarize"]


def __getattr__(name: str) -> Any:
    # The library entry points, imported on first use: the CLI imports them only after it has
    # started loading the model, so the imports overlap the load.
    if name in ("summarize", "SummaryResult"):
        from summarize_scene import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _start_loading_model(settings: SummarizeSettings, models_dir: Path | None, config: Any) -> None:
    """Begin verifying + loading the current LLM in the background (see engine.preload).

    Any problem here (no model, a bad pointer) is left for the summarize step to report in its
    usual order, after the analytic has been checked."""
    from summarize_scene import engine
    from summarize_scene.llm_model import resolve_current_llm

    try:
        current = resolve_current_llm(Path(models_dir) if models_dir is not None else settings.models_dir)
    except Exception:  # reported by summarize() with its proper message, in its order
        return
    if current is not None:
        engine.preload(current.path, current.sha256, n_threads=settings.llm_threads,
                       n_ctx=config.generation.n_ctx, verify=current.verify)


def run(
    analytic: Path, output_dir: Path | None = None, config_path: Path | None = None,
    prompt_path: Path | None = None, models_dir: Path | None = None,
) -> None:
    """The command behind both entry points (the stage script and `vv summarize`)."""
    from vv_core.cli_support import EXIT_INTERNAL, fail, run_stage
    from vv_core.jsonlog import start_process

    settings = SummarizeSettings()
    # Logs go to app.log only: stdout carries the path written and stderr the one-line error
    # (the command contract the orchestrator reads), so neither stream gets log lines.
    start_process("summarize_scene", settings, console="none")

    def action() -> Path:
        from summarize_scene import engine
        from summarize_scene.config import load_config
        from vv_core.storage import require_inside_root

        require_inside_root(analytic, settings.video_storage_root, "analytic")  # the stage-input rule
        config = load_config(config_path)
        _start_loading_model(settings, models_dir, config)
        from summarize_scene.pipeline import GenerationFailed, summarize
        from summarize_scene.prompt import load_prompt

        try:
            result = summarize(analytic, output_dir, settings, config=config, prompt=load_prompt(prompt_path),
                               models_dir=models_dir)
        except (engine.GenerationTimeout, GenerationFailed) as exc:
            fail(f"summarize {analytic}: {exc}", EXIT_INTERNAL)
        finally:
            engine.clear_cache()  # free the model now, not in interpreter teardown
        return result.path

    run_stage(action)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="summarize_scene", description=__doc__.splitlines()[0])
    parser.add_argument("analytic", type=Path, help="analytic/<id>.analytic.json")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: <storage>/summaries")
    parser.add_argument("--config", type=Path, default=None, help="default: summarize_scene/config.yaml")
    parser.add_argument("--prompt", type=Path, default=None, help="default: prompts/scene_summarizer.prompt")
    parser.add_argument("--models-dir", type=Path, default=None, help="default: MODELS_DIR")
    args = parser.parse_args(argv)
    run(args.analytic, args.output_dir, args.config, args.prompt, args.models_dir)


if __name__ == "__main__":
    main()
