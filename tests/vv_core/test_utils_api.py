"""The blueprint's vv-core API (§7): exactly its names and signatures, and real behaviour."""

import hashlib
import hmac
import inspect
import json

import pytest

from vv_core import hashing, keystore, schema, signing
from vv_core.errors import KeyStoreError, SchemaValidationError
from vv_core.utils import (
    compute_sha256,
    load_key_store,
    load_schema,
    sign_payload,
    validate_schema,
    verify_signature,
)

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
PAYLOAD = b'{"who":"cam1","did":"detected","this":"2 persons"}'


def test_sign_and_verify_have_the_blueprints_signatures():
    sign = inspect.signature(sign_payload)
    assert list(sign.parameters) == ["payload", "secret"]
    assert [p.annotation for p in sign.parameters.values()] == [bytes, bytes]
    assert sign.return_annotation is str
    verify = inspect.signature(verify_signature)
    assert list(verify.parameters) == ["payload", "secret", "signature"]
    assert [p.annotation for p in verify.parameters.values()] == [bytes, bytes, str]
    assert verify.return_annotation is bool


def test_the_other_names_are_the_kernels_own():
    assert (compute_sha256, load_schema, validate_schema, load_key_store) == (
        hashing.compute_sha256, schema.load_schema, schema.validate_schema, keystore.load_key_store)


def test_round_trip_is_hmac_sha256_of_the_bytes():
    signature = sign_payload(PAYLOAD, SECRET)
    assert signature == hmac.new(SECRET, PAYLOAD, hashlib.sha256).hexdigest()
    assert verify_signature(PAYLOAD, SECRET, signature) is True


@pytest.mark.parametrize("tampered", [PAYLOAD.replace(b"2 persons", b"3 persons"), PAYLOAD + b" ", b""])
def test_a_tampered_payload_does_not_verify(tampered):
    assert verify_signature(tampered, SECRET, sign_payload(PAYLOAD, SECRET)) is False


def test_a_wrong_secret_or_a_malformed_signature_does_not_verify():
    signature = sign_payload(PAYLOAD, SECRET)
    assert verify_signature(PAYLOAD, OTHER_SECRET, signature) is False
    for bad in (signature[:-1], signature.upper(), "", "é" * 64, None):
        assert verify_signature(PAYLOAD, SECRET, bad) is False


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="empty HMAC secret"):
        sign_payload(PAYLOAD, b"")


def test_signing_a_documents_signing_input_gives_the_signature_a_logline_carries():
    document = {"who": "cam1", "did": "detected", "seq": 3, "key_id": "k1"}
    signature = signing.sign_payload(document, SECRET)
    assert sign_payload(signing.signing_input(document), SECRET) == signature
    assert verify_signature(signing.signing_input({**document, "signature": signature}), SECRET, signature)


def test_schema_hash_and_key_store_through_the_blueprint_names(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00video" * 1000)
    assert compute_sha256(video) == hashlib.sha256(video.read_bytes()).hexdigest()
    document = {"type": "object", "required": ["who"], "properties": {"who": {"type": "string"}}}
    contract = tmp_path / "who.schema.json"
    contract.write_text(json.dumps(document))
    assert load_schema(contract) == document
    validate_schema({"who": "cam1"}, contract)
    with pytest.raises(SchemaValidationError, match="who"):
        validate_schema({}, contract)
    store = tmp_path / "keys.json"
    store.write_text(json.dumps({"active_key_id": "k1", "keys": {"k1": SECRET.hex()}}))
    store.chmod(0o600)
    assert load_key_store(store).active_secret == SECRET
    store.chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        load_key_store(store)
