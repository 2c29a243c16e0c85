"""`vv` trust and audit commands: verify (with or without the key), keys, proofs, witnesses."""

from pathlib import Path
from typing import Annotated

import typer

from transparency import cli as transparency_cli  # light: its commands import lazily
from vv_cli.app import app
from vv_cli.settings import Settings
from vv_core.cli_support import run_stage


@app.command()
def verify(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or directories (default: loglines/).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    jobs: Annotated[int | None, typer.Option(help="Processes for big chains (default: cores).")] = None,
    public_key: Annotated[list[str] | None, typer.Option(
        help="Audit without the HMAC key: the log's verifier key (`vv keys public`), repeatable.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="With --public-key: the signed checkpoint.")] = None,
    since: Annotated[Path | None, typer.Option(help="An older checkpoint you kept: prove the log extends it.")
                     ] = None,
    consistency_proof: Annotated[Path | None, typer.Option(
        help="`vv proof --consistency` output: check --since against --checkpoint without the files.")] = None,
    witness: Annotated[list[str] | None, typer.Option(help="A witness's verifier key, repeatable.")] = None,
    min_witnesses: Annotated[int, typer.Option(help="Cosignatures required from --witness keys.")] = 0,
) -> None:
    """Verify LogLines: signature, key, schema, chain continuity. Exit 1 on any problem.

    With --public-key and --checkpoint: an outsider's audit (no HMAC secret), see docs/transparency.md."""
    settings = Settings()
    if public_key or checkpoint:
        from transparency.audit import run_audit
        from vv_core.cli_support import fail

        if not (public_key and checkpoint):
            fail("an audit needs both --public-key and --checkpoint")
        raise typer.Exit(run_audit(
            paths or [], json_output, public_keys=public_key, checkpoint=checkpoint, since=since,  # type: ignore[arg-type]
            consistency_proof=consistency_proof, witness_keys=witness or [], min_witnesses=min_witnesses,
            default_dir=settings.storage.loglines, jobs=jobs))
    from transparency.verifier import run_verify

    raise typer.Exit(
        run_verify(paths or [], json_output, settings.key_store_path, settings.storage.loglines, jobs)
    )


keys_app = typer.Typer(help="Key stores: HMAC keys for LogLines, Ed25519 keys for checkpoints.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")
keys_app.command("public")(transparency_cli.keys_public)
keys_app.command("rotate-checkpoint")(transparency_cli.keys_rotate_checkpoint)
app.command()(transparency_cli.proof)
app.add_typer(transparency_cli.witness_app, name="witness")


@keys_app.command("rotate")
def keys_rotate(new_key_id: Annotated[str, typer.Argument(help="Id of the new active key.")]) -> None:
    """Add a fresh key and make it active; LogLines signed with older keys keep verifying."""
    from vv_core.keystore import rotate_key_store

    def action() -> Path:
        path = Settings().key_store_path
        rotate_key_store(path, new_key_id)
        return path

    run_stage(action)


