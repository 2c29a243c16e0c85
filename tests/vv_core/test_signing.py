import math

import pytest

from vv_core.canonical import canonical_json, pretty_json
from vv_core.signing import sign_payload, signing_input, verify_signature

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
PAYLOAD = {"who": "cam1", "did": "detected", "this": "2 persons", "seq": 7, "prev_hash": "ab" * 32,
           "key_id": "k1"}


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": [1, "ç"], "c": {"z": None, "y": 1.5}}) == (
        '{"a":[1,"ç"],"b":1,"c":{"y":1.5,"z":null}}'.encode()
    )


def test_canonical_json_refuses_nan_and_infinity():
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError):
            canonical_json({"x": bad})


def test_pretty_json_is_stable_and_ends_with_newline():
    assert pretty_json({"b": 1, "a": 2}) == b'{\n  "a": 2,\n  "b": 1\n}\n'


def test_sign_and_verify_round_trip_independent_of_key_order():
    signature = sign_payload(PAYLOAD, SECRET)
    assert len(signature) == 64
    reordered = dict(reversed(list(PAYLOAD.items())))
    assert verify_signature(reordered, signature, SECRET)


def test_signature_field_is_not_part_of_the_signed_input():
    signature = sign_payload(PAYLOAD, SECRET)
    signed_document = {**PAYLOAD, "signature": signature}
    assert signing_input(signed_document) == signing_input(PAYLOAD)
    assert verify_signature(signed_document, signature, SECRET)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.update(who="cam2"),
        lambda d: d.update(seq=8),
        lambda d: d.update(prev_hash="cd" * 32),
        lambda d: d.update(key_id="k2"),
        lambda d: d.update(extra="field"),
        lambda d: d.pop("this"),
        lambda d: d.update(this="2 persons "),
    ],
)
def test_tampered_payload_fails_verification(tamper):
    signature = sign_payload(PAYLOAD, SECRET)
    tampered = dict(PAYLOAD)
    tamper(tampered)
    assert not verify_signature(tampered, signature, SECRET)


def test_wrong_key_and_malformed_signatures_fail():
    signature = sign_payload(PAYLOAD, SECRET)
    assert not verify_signature(PAYLOAD, signature, OTHER_SECRET)
    assert not verify_signature(PAYLOAD, signature.upper(), SECRET)
    assert not verify_signature(PAYLOAD, signature[:-1], SECRET)
    assert not verify_signature(PAYLOAD, None, SECRET)  # type: ignore[arg-type]
    assert not verify_signature(PAYLOAD, "é" * 64, SECRET)


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        sign_payload(PAYLOAD, b"")
