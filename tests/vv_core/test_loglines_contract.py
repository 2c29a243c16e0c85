"""vv_core.loglines and the compiled schema check: the contract the writer, verifier and scheduler share."""

import json

import pytest

from tests.logline_fixtures import make_key_store
from vv_core.canonical import canonical_json
from vv_core.errors import SchemaValidationError
from vv_core.loglines import (
    ChainHead,
    HeadError,
    encode_logline,
    head_document,
    link_hash,
    parse_head,
    read_bytes,
    seal_logline,
)
from vv_core.schema import load_schema, validate_schema_fast


def test_compiled_validator_accepts_the_example_and_names_the_bad_field():
    example = load_schema("logline")["examples"][0]
    validate_schema_fast(example, "logline")
    with pytest.raises(SchemaValidationError, match="seq") as caught:
        validate_schema_fast({**example, "seq": -1}, "logline")
    assert caught.value.field == "seq"
    # fastjsonschema anchors "$" as "\Z": a trailing newline passes jsonschema but not the fast
    # path, which then refuses anyway (fail closed, never weaker)
    with pytest.raises(SchemaValidationError):
        validate_schema_fast({**example, "key_id": "k1\n"}, "logline")


def test_sealed_record_round_trips_and_links(tmp_path):
    keys = make_key_store(tmp_path / "k.json")
    example = load_schema("logline")["examples"][0]
    record = seal_logline(example, seq=3, prev_hash="a" * 64, key_store=keys)
    raw = encode_logline(record)
    assert raw == canonical_json(record) + b"\n"
    path = tmp_path / "r.json"
    path.write_bytes(raw * 3000)            # larger than one read chunk
    assert read_bytes(str(path)) == raw * 3000
    assert len(link_hash(record)) == 64


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: "not json", "not JSON"),
    (lambda d: json.dumps({**d, "format": "other"}), "unknown format"),
    (lambda d: json.dumps({**d, "key_id": "nobody"}), "unknown key_id"),
    (lambda d: json.dumps({**d, "seq": 5}), "signature does not match"),
])
def test_head_that_cannot_be_trusted(tmp_path, mutate, message):
    keys = make_key_store(tmp_path / "k.json")
    document = head_document(ChainHead(2, "b" * 64, "x"), keys)
    assert parse_head(json.dumps(document).encode(), keys) == ChainHead(2, "b" * 64, "x")
    with pytest.raises(HeadError, match=message):
        parse_head(mutate(document).encode(), keys)


def test_head_with_valid_signature_but_bad_fields(tmp_path):
    keys = make_key_store(tmp_path / "k.json")
    from vv_core.signing import sign_payload

    for bad in ({"seq": "2"}, {"hash": "short"}, {"pending": {"seq": "x"}}):
        document = {"format": "vv.logline-chain-head/1", "seq": 1, "hash": "c" * 64, "id": None,
                    "pending": None, "key_id": keys.active_key_id, **bad}
        document["signature"] = sign_payload(document, keys.active_secret)
        with pytest.raises(HeadError):
            parse_head(json.dumps(document).encode(), keys)
