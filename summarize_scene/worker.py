"""The summary handler of `vv worker --stage summarize`: the LLM stays loaded between jobs.

One job is ``vv summarize ANALYTIC --output-dir DIR`` as a library call (``use_cache=True`` keeps
the model). A generation that runs out of time is internal (exit 2: retried), as in the CLI.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from summarize_scene import engine
from summarize_scene.config import load_config
from summarize_scene.pipeline import GenerationFailed, summarize
from summarize_scene.prompt import load_prompt
from summarize_scene.settings import SummarizeSettings
from vv_core.storage import require_inside_root


class SummaryTimeout(Exception):
    """Not a VVError on purpose: the worker reports it as internal (exit 2), like the CLI does."""


def summarize_handler(settings: SummarizeSettings | None = None, config_path: Path | None = None,
                      prompt_path: Path | None = None) -> Callable[[Any], str]:
    """Read the config and prompt once and return the function that does one summary job."""
    settings = settings or SummarizeSettings()
    config = load_config(config_path)
    prompt = load_prompt(prompt_path)

    def handle(job: Any) -> str:
        analytic = Path(job.input)
        require_inside_root(analytic, settings.video_storage_root, "analytic")
        try:
            return str(summarize(analytic, job.output_dir, settings, config=config, prompt=prompt,
                                 use_cache=True).path)
        except (engine.GenerationTimeout, GenerationFailed) as exc:
            raise SummaryTimeout(f"summarize {analytic}: {exc}") from exc

    return handle
