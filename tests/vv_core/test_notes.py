"""C2SP signed notes: published vectors of other implementations, rotation, forgeries."""

import base64

import pytest

from vv_core.keystore import create_key_store, load_key_store, rotate_key_store
from vv_core.notes import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    NoteError,
    NoteSigner,
    VerifierKey,
    cosignature_time,
    open_checkpoint,
    sign_note,
    signers_from_key_store,
    verify_note,
    witnesses_of,
)

# golang.org/x/mod/sumdb/note, note_test.go: a key pair and the note it signs (Ed25519 is
# deterministic, so signing must reproduce the published bytes exactly).
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + ("\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6K"
                     "E6RyyBwJnAM=\n")

# A checkpoint of a public CT log with its Ed25519 signature and a real witness's cosignature/v1.
CT_CHECKPOINT = (
    "arche2025h1.staging.ct.transparency.dev\n1432088532\nU7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\n"
    "— arche2025h1.staging.ct.transparency.dev "
    "ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n"
    "— remora.n621.de "
    "2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n")
CT_LOG_KEY = "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
REMORA_KEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def go_signer():
    return NoteSigner.from_seed("PeterNeumann", base64.b64decode(GO_SIGNER.split("+", 4)[4])[1:])


def test_signing_reproduces_the_go_reference_note_and_key():
    signer = go_signer()
    assert str(signer.verifier_key) == GO_VERIFIER
    assert sign_note(GO_TEXT, signer) == GO_NOTE
    key = VerifierKey.parse(GO_VERIFIER)
    assert verify_note(GO_NOTE, [key]) == (GO_TEXT, [key])
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(GO_NOTE.replace("cryptography", "cryptographY"), [key])


def test_a_published_checkpoint_and_witness_cosignature_verify():
    log, witness = VerifierKey.parse(CT_LOG_KEY), VerifierKey.parse(REMORA_KEY)
    assert (log.kind, witness.kind) == (ED25519, COSIGNATURE_V1)
    checkpoint, signed_by = open_checkpoint(CT_CHECKPOINT, [log])
    assert (checkpoint.origin, checkpoint.size, signed_by) == (log.name, 1432088532, [log])
    assert witnesses_of(CT_CHECKPOINT, [witness]) == [witness]
    assert cosignature_time(CT_CHECKPOINT, witness) > 1_700_000_000
    clobbered = CT_CHECKPOINT.replace("1432088532", "1432088533")
    assert witnesses_of(clobbered, [witness]) == []
    with pytest.raises(NoteError):
        open_checkpoint(clobbered, [log])


def test_verifier_keys_are_checked_and_round_trip():
    assert str(VerifierKey.parse(REMORA_KEY)) == REMORA_KEY
    for bad in ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",   # wrong key id
                "PeterNeumann+c74f20a3", "Peter Neumann+c74f20a3+ARpc", "x+00000000+AAAA"):
        with pytest.raises(NoteError):
            VerifierKey.parse(bad)


def test_unknown_signatures_are_ignored_and_forgeries_rejected():
    signer = NoteSigner.from_seed("vv.test/log", b"\x01" * 32)
    forger = NoteSigner.from_seed("vv.test/log", b"\x02" * 32)   # same name, another key
    text = Checkpoint("vv.test/log", 3, b"\x07" * 32).text()
    genuine = sign_note(text, signer)
    assert open_checkpoint(genuine + forger.signature_line(text), [signer.verifier_key])[0].size == 3
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_checkpoint(sign_note(text, forger), [signer.verifier_key])
    # a forged signature under the genuine key's name and id is refused, not skipped
    forged_line = genuine.splitlines()[-1][:-8] + "AAAAAAA="
    with pytest.raises(NoteError):
        open_checkpoint(text + "\n" + forged_line + "\n", [signer.verifier_key])


def test_cosignatures_commit_to_time_and_checkpoint():
    witness = NoteSigner.from_seed("witness.test/w1", b"\x03" * 32, COSIGNATURE_V1)
    log = NoteSigner.from_seed("vv.test/log", b"\x01" * 32)
    text = Checkpoint("vv.test/log", 9, b"\x05" * 32).text()
    note = sign_note(text, log) + witness.signature_line(text, 1_900_000_000)
    assert witnesses_of(note, [witness.verifier_key]) == [witness.verifier_key]
    assert cosignature_time(note, witness.verifier_key) == 1_900_000_000
    line = note.splitlines()[-1]
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[4 + 7] ^= 1                                   # claim another time: the signature covers it
    moved = note.replace(line, f"{line.rsplit(' ', 1)[0]} {base64.b64encode(bytes(raw)).decode()}")
    assert witnesses_of(moved, [witness.verifier_key]) == []
    other = Checkpoint("vv.test/log", 10, b"\x05" * 32).text()
    assert witnesses_of(sign_note(other, log) + witness.signature_line(text, 1), [witness.verifier_key]) == []


def test_rotated_keys_keep_verifying_old_checkpoints(tmp_path):
    path = tmp_path / "checkpoint_keys.json"
    create_key_store(path, "k1")
    old_signer, _ = signers_from_key_store(load_key_store(path), "vv.test/log")
    old_note = sign_note(Checkpoint("vv.test/log", 1, b"\x01" * 32).text(), old_signer)
    rotate_key_store(path, "k2")
    new_signer, every = signers_from_key_store(load_key_store(path), "vv.test/log")
    new_note = sign_note(Checkpoint("vv.test/log", 2, b"\x02" * 32).text(), new_signer)
    assert new_signer.verifier_key != old_signer.verifier_key
    keys = [s.verifier_key for s in every]
    assert open_checkpoint(old_note, keys)[0].size == 1 and open_checkpoint(new_note, keys)[0].size == 2
    with pytest.raises(NoteError):
        open_checkpoint(old_note, [new_signer.verifier_key])


@pytest.mark.parametrize("text", ["o\n1\n", "o\n01\nAAAA\n", "o\n1\nnot-base64\n", "\n1\n" + "A" * 44 + "\n"])
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(NoteError):
        Checkpoint.parse(text)
