"""logline_generator: ``summaries/<id>.summary.json`` → ``loglines/<id>.logline.json`` (+ ``.md``).

    python -m logline_generator.logline_generator SUMMARY.json [--output-dir DIR]
    vv logline SUMMARY.json [--output-dir DIR]

The record is sealed with the key store's active key and appended to the hash chain of the output
directory (see chain.py), the Merkle tree follows and a checkpoint is signed (transparency.py),
then the checkpoint is pushed to the configured witnesses (witness_push.py; failures only logged).
Running it again for the same summary returns the existing LogLine.
"""

import argparse
import json
from pathlib import Path

from logline_generator.chain import append_logline
from logline_generator.content import logline_fields
from logline_generator.transparency import load_signing
from logline_generator.witness_push import parse_witnesses, push_checkpoint
from vv_core.cli_support import run_stage
from vv_core.errors import VVError
from vv_core.keystore import load_key_store
from vv_core.schema import validate_schema
from vv_core.settings import Settings, get_settings


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
                     settings: Settings | None = None) -> Path:
    """Write (or find) the signed LogLine for one summary; return the .logline.json path."""
    settings = settings or get_settings()
    summary_path = Path(summary_path)
    summary = read_summary(summary_path)
    fields = logline_fields(summary, summary_path, settings.video_storage_root)
    out_dir = Path(output_dir) if output_dir is not None else settings.storage.loglines
    key_store = load_key_store(settings.key_store_path)
    witnesses = parse_witnesses(settings.transparency_witnesses)
    signing = load_signing(settings.checkpoint_key_store_path, settings.transparency_origin)
    path = append_logline(out_dir, fields, key_store, signing=signing)
    push_checkpoint(out_dir, witnesses, settings.transparency_witness_timeout_s,
                    settings.transparency_witness_retry_s)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the signed, chained LogLine of a summary.")
    parser.add_argument("summary", type=Path, help="summaries/<id>.summary.json")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: <storage>/loglines")
    args = parser.parse_args(argv)
    run_stage(lambda: generate_logline(args.summary, args.output_dir))


if __name__ == "__main__":
    main()
