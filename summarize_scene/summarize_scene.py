"""summarize_scene: turn an analytic JSON into a human summary that drives the TVs.

    python -m summarize_scene.summarize_scene ANALYTIC.json [--output-dir DIR]
    python summarize_scene/summarize_scene.py ANALYTIC.json [--output-dir DIR]
    vv summarize ANALYTIC.json [--output-dir DIR]

Success: prints the summary path, exit 0. Failure: one line on stderr, nothing written; exit 1 for
bad input/configuration or a model that fails its hash, 2 for a generation timeout or an internal
fault. Library use: ``from summarize_scene.summarize_scene import summarize`` (keeps the model
loaded between calls); the CLI loads the model once per call.
"""

import argparse
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable like `python -m` does
    _repo = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(_repo), str(_repo / "vv-core")]

from summarize_scene.config import load_config
from summarize_scene.engine import GenerationTimeout
from summarize_scene.pipeline import GenerationFailed, SummaryResult, summarize
from summarize_scene.prompt import load_prompt
from vv_core.cli_support import EXIT_INTERNAL, fail, run_stage
from vv_core.jsonlog import JsonFormatter
from vv_core.settings import Settings

__all__ = ["SummaryResult", "main", "run", "summarize"]


def _log_to_storage(settings: Settings) -> None:
    """JSON logs go to <storage>/logs/app.log: stdout carries only the path written and stderr
    only the one-line error (the command contract), so nothing is streamed there at INFO."""
    log_dir = settings.storage.logs
    if not log_dir.is_dir():
        return
    handler = logging.FileHandler(log_dir / "app.log", encoding="utf-8")
    handler.setFormatter(JsonFormatter("summarize_scene"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(settings.log_level)


def run(
    analytic: Path, output_dir: Path | None = None, config_path: Path | None = None,
    prompt_path: Path | None = None, models_dir: Path | None = None,
) -> None:
    """The command behind both entry points (the stage script and `vv summarize`)."""
    settings = Settings()
    _log_to_storage(settings)

    def action() -> Path:
        try:
            result = summarize(
                analytic, output_dir, settings, config=load_config(config_path), prompt=load_prompt(prompt_path),
                models_dir=models_dir, use_cache=False,
            )
        except GenerationTimeout as exc:
            fail(f"summarize {analytic}: {exc}", EXIT_INTERNAL)
        except GenerationFailed as exc:
            fail(f"summarize {analytic}: {exc}", EXIT_INTERNAL)
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
