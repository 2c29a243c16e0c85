"""Settings of `vv witness serve` (WITNESS_* variables): its key store, name, the logs it cosigns, its state"""

from pathlib import Path

from pydantic import Field

from vv_core.settings import CoreSettings


class WitnessSettings(CoreSettings):
    """`vv witness serve` (WITNESS_* variables)."""

    witness_key_store_path: Path = Field(
        Path("secrets/witness_keys.json"),
        description="`vv witness serve`: its Ed25519 cosigning key store (created if missing, mode 0600).",
    )
    witness_name: str = Field(
        "vv-witness", pattern=r"^[^\s+]+$", description="`vv witness serve`: the witness's key name.",
    )
    witness_logs: str = Field(
        "", description="`vv witness serve`: verifier keys of the logs it cosigns, comma-separated.",
    )
    witness_state_dir: Path = Field(
        Path("witness"), description="`vv witness serve`: where the last cosigned checkpoint of each log is kept.",
    )

