"""A signed, checkpointed LogLine log for transparency tests, and what an attacker holding the box's
keys can do to it."""

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from logline_generator.chain import append_logline
from logline_generator.transparency import CheckpointSigning
from tests.logline_fixtures import make_key_store, record_fields
from vv_core.canonical import pretty_json
from vv_core.keystore import KeyStore, create_key_store, load_key_store
from vv_core.loglines import GENESIS_HASH, ChainHead, encode_logline, head_document, logline_filename, seal_logline
from vv_core.merkle import root_of
from vv_core.notes import Checkpoint, VerifierKey, sign_note, signers_from_key_store
from vv_core.tlog import TLOG_DIR, TreeStore, logline_paths, read_checkpoint, read_leaf

ORIGIN = "vv.test/loglines"
WHEN = "2030-01-01T00:00:00Z"   # content only; nothing compares it with the clock


@dataclass
class Log:
    directory: Path
    keys: KeyStore
    signing: CheckpointSigning
    checkpoint_keys_path: Path

    @property
    def public_key(self) -> VerifierKey:
        return self.signing.signer.verifier_key

    def append(self, index: int) -> Path:
        return append_logline(self.directory, record_fields(index, when=WHEN, status="confirmado"), self.keys,
                              signing=self.signing)

    def checkpoint(self) -> str:
        note = read_checkpoint(self.directory)
        assert note is not None
        return note


def make_log(tmp_path: Path, count: int, directory: Path | None = None) -> Log:
    keys = make_key_store(tmp_path / "log-secrets" / "keys.json")
    checkpoint_keys = tmp_path / "log-secrets" / "checkpoint_keys.json"
    create_key_store(checkpoint_keys, "c1")
    signer, _ = signers_from_key_store(load_key_store(checkpoint_keys), ORIGIN)
    log = Log(directory or tmp_path / "loglines", keys, CheckpointSigning(ORIGIN, signer), checkpoint_keys)
    for index in range(count):
        log.append(index)
    return log


def records(log: Log) -> list[dict]:
    import json

    return sorted((json.loads(Path(p).read_bytes()) for p in logline_paths(log.directory)), key=lambda r: r["seq"])


def rewrite_history(log: Log, fields: list[dict], *, resign_checkpoint: bool = True) -> None:
    """What the key holder does: rewrite every LogLine from ``fields``, re-seal the whole chain with
    the HMAC key (so the HMAC verifier passes), and sign a fresh checkpoint over the new tree."""
    for path in logline_paths(log.directory):
        Path(path).unlink()
    prev, sealed = GENESIS_HASH, None
    for seq, item in enumerate(fields):
        sealed = seal_logline(item, seq=seq, prev_hash=prev, key_store=log.keys)
        raw = encode_logline(sealed)
        (log.directory / logline_filename(sealed["id"])).write_bytes(raw)
        prev = hashlib.sha256(raw[:-1]).hexdigest()
    head = ChainHead(len(fields) - 1, prev, sealed["id"] if sealed else None)
    (log.directory / ".chain_head.json").write_bytes(pretty_json(head_document(head, log.keys)))
    shutil.rmtree(log.directory / TLOG_DIR)
    if resign_checkpoint:
        leaves = sorted((read_leaf(p) for p in logline_paths(log.directory)), key=lambda leaf: leaf.seq)
        TreeStore(log.directory).rewrite([leaf.hash for leaf in leaves])
        root = root_of(leaf.hash for leaf in leaves)
        note = sign_note(Checkpoint(ORIGIN, len(fields), root).text(), log.signing.signer)
        (log.directory / TLOG_DIR / "checkpoint").write_text(note)
