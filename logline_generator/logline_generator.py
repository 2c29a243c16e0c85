"""logline_generator: ``summaries/<id>.summary.json`` → ``loglines/<id>.logline.json`` (+ ``.md``).

    python -m logline_generator.logline_generator SUMMARY.json [SUMMARY.json ...] [--output-dir DIR]
    vv logline SUMMARY.json [SUMMARY.json ...] [--output-dir DIR]

Each record is sealed with the key store's active key and appended to the hash chain of the output
directory (see chain.py), the Merkle tree follows, and one checkpoint is signed for the run
(transparency.py) and pushed once to the configured witnesses (witness_push.py; failures only
logged): give a run all its summaries so they share the checkpoint's fsyncs and signature.
Running it again for the same summary returns the existing LogLine. A summary that cannot be read
is reported; the others are still written.
"""

import argparse
import json
from pathlib import Path

from logline_generator.chain import append_loglines
from logline_generator.content import logline_fields
from logline_generator.settings import LoglineSettings
from logline_generator.transparency import load_signing
from logline_generator.witness_push import parse_witnesses, push_checkpoint
from vv_core.cli_support import run_stage
from vv_core.errors import VVError
from vv_core.keystore import load_key_store
from vv_core.schema import validate_schema


def read_summary(summary_path: Path) -> dict:
    try:
        summary = json.loads(Path(summary_path).read_bytes())
    except FileNotFoundError:
        raise VVError(f"summary not found: {summary_path}") from None
    except (ValueError, OSError) as exc:
        raise VVError(f"summary {summary_path} is not readable JSON: {exc}") from None
    validate_schema(summary, "summary")
    return summary


def generate_logline(summary_path: str | Path, output_dir: str | Path | None = None,
                     settings: LoglineSettings | None = None) -> Path:
    """Write (or find) the signed LogLine for one summary; return the .logline.json path."""
    return generate_loglines([summary_path], output_dir, settings)[0]


def generate_loglines(summary_paths: list[str | Path], output_dir: str | Path | None = None,
                      settings: LoglineSettings | None = None) -> list[Path]:
    """Write (or find) the LogLines of several summaries in one run: one checkpoint, one witness
    push. Unreadable summaries are skipped and reported in one VVError after the others are written."""
    settings = settings or LoglineSettings()
    batch, failures = [], []
    for summary_path in map(Path, summary_paths):
        try:
            batch.append(logline_fields(read_summary(summary_path), summary_path, settings.video_storage_root))
        except VVError as exc:
            failures.append(str(exc))
    out_dir = Path(output_dir) if output_dir is not None else settings.storage.loglines
    paths: list[Path] = []
    if batch:
        key_store = load_key_store(settings.key_store_path)
        witnesses = parse_witnesses(settings.transparency_witnesses)
        signing = load_signing(settings.checkpoint_key_store_path, settings.transparency_origin)
        paths = append_loglines(out_dir, batch, key_store, signing=signing)
        push_checkpoint(out_dir, witnesses, settings.transparency_witness_timeout_s,
                        settings.transparency_witness_retry_s)
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise VVError(f"{failures[0]}{more}; {len(paths)} LogLine(s) written")
    return paths


def run_command(summary_paths: list[Path], output_dir: Path | None = None) -> None:
    """The command behind `vv logline` and this script: the process start-up, then the stage."""
    from vv_core.jsonlog import start_process

    def action() -> list[Path]:
        settings = LoglineSettings()
        # Logs go to app.log only: stdout carries the paths written and stderr the one-line error.
        start_process("logline_generator", settings, console="none")
        return generate_loglines(summary_paths, output_dir, settings)

    run_stage(action)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the signed, chained LogLine of a summary.")
    parser.add_argument("summary", type=Path, nargs="+", help="summaries/<id>.summary.json (one or more)")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: <storage>/loglines")
    args = parser.parse_args(argv)
    run_command(args.summary, args.output_dir)


if __name__ == "__main__":
    main()
