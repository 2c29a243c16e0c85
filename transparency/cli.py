"""The transparency commands mounted by `vv`: proof, keys public / rotate-checkpoint, witness serve."""

import json
from pathlib import Path
from typing import Annotated

import typer

from transparency.settings import WitnessSettings

witness_app = typer.Typer(help="C2SP witness: cosign another box's checkpoints after checking consistency.",
                          no_args_is_help=True)


def proof(
    logline_id: Annotated[str | None, typer.Argument(help="LogLine id (inclusion proof).")] = None,
    consistency: Annotated[tuple[int, int] | None, typer.Option(
        help="Consistency proof between two tree sizes: --consistency OLD NEW.")] = None,
    loglines: Annotated[Path | None, typer.Option(help="LogLine directory (default: loglines/).")] = None,
) -> None:
    """Print a Merkle proof as JSON: inclusion of one LogLine in the latest checkpoint, or
    consistency between two sizes (what `vv verify --consistency-proof` checks)."""
    from vv_core.cli_support import fail, guarded
    from vv_core.tlog_proofs import consistency as consistency_proof
    from vv_core.tlog_proofs import inclusion

    directory = loglines or WitnessSettings().storage.loglines
    if (logline_id is None) == (consistency is None):
        fail("give a LogLine id or --consistency OLD NEW")
    if consistency is not None:
        result = guarded(lambda: consistency_proof(directory, *consistency))
    else:
        result = guarded(lambda: inclusion(directory, logline_id))  # type: ignore[arg-type]
    print(json.dumps(result, indent=2))


def keys_public(all_keys: Annotated[bool, typer.Option("--all", help="Also the retired keys.")] = False) -> None:
    """Print the checkpoint verifier key (C2SP note format) auditors and witnesses pin."""
    from vv_core.cli_support import guarded
    from vv_core.keystore import load_key_store
    from vv_core.notes import signers_from_key_store

    settings = WitnessSettings()

    def keys() -> list[str]:
        active, every = signers_from_key_store(load_key_store(settings.checkpoint_key_store_path),
                                               settings.transparency_origin)
        others = [s for s in every if s is not active] if all_keys else []
        return [str(s.verifier_key) for s in (active, *others)]

    print("\n".join(guarded(keys)))


def keys_rotate_checkpoint(new_key_id: Annotated[str, typer.Argument(help="Id of the new active key.")]) -> None:
    """Add a fresh Ed25519 checkpoint key and make it active; give auditors the new public key
    (old checkpoints keep verifying with the old one)."""

    from vv_core.cli_support import run_stage
    from vv_core.keystore import rotate_key_store

    def action() -> Path:
        path = WitnessSettings().checkpoint_key_store_path
        rotate_key_store(path, new_key_id)
        return path

    run_stage(action)


def _witness(settings: WitnessSettings, create: bool):
    from datetime import UTC, datetime

    from transparency.witness import Witness
    from vv_core.errors import VVError
    from vv_core.keystore import create_key_store, load_key_store
    from vv_core.notes import COSIGNATURE_V1, VerifierKey, signers_from_key_store

    path = settings.witness_key_store_path
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_key_store(path, datetime.now(UTC).strftime("w%Y%m%d"))
    signer, _ = signers_from_key_store(load_key_store(path), settings.witness_name, COSIGNATURE_V1)
    logs = [VerifierKey.parse(k) for k in settings.witness_logs.split(",") if k.strip()]
    if create and not logs:
        raise VVError("WITNESS_LOGS is empty: give the verifier key (`vv keys public`) of each log to cosign")
    return Witness(signer, logs, settings.witness_state_dir)


@witness_app.command("serve")
def witness_serve(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one, printed).")] = 8790,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) for the logs in WITNESS_LOGS."""

    from transparency.witness import make_server
    from vv_core.cli_support import guarded
    from vv_core.jsonlog import start_process

    settings = WitnessSettings()
    start_process("witness", settings, console="stderr")
    witness = guarded(lambda: _witness(settings, create=True))
    server = make_server(witness, host, port)
    print(f"witness {witness.signer.verifier_key} on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@witness_app.command("public-key")
def witness_public_key() -> None:
    """Print the witness's verifier key (type 4, cosignature/v1) for TRANSPARENCY_WITNESSES."""
    from vv_core.cli_support import guarded

    print(guarded(lambda: _witness(WitnessSettings(), create=False)).signer.verifier_key)
