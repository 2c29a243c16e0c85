import json
import os

import pytest

from vv_core import keystore
from vv_core.errors import KeyStoreError
from vv_core.keystore import create_key_store, load_key_store, rotate_key_store
from vv_core.signing import sign_payload, verify_signature


def write_store(path, document, mode=0o600):
    path.write_text(json.dumps(document))
    os.chmod(path, mode)
    return path


def test_create_then_load_round_trip_with_mode_0600(tmp_path):
    path = tmp_path / "keys.json"
    created = create_key_store(path, "k1")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    loaded = load_key_store(path)
    assert loaded.active_key_id == "k1"
    assert loaded.active_secret == created.active_secret
    assert len(loaded.active_secret) == 32


def test_repr_never_shows_secrets(tmp_path):
    store = create_key_store(tmp_path / "keys.json", "k1")
    assert store.active_secret.hex() not in repr(store)
    assert "keys" not in repr(store)


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o666])
def test_world_accessible_key_store_is_refused(tmp_path, mode):
    path = write_store(tmp_path / "keys.json", {"active_key_id": "k", "keys": {"k": "aa" * 32}}, mode)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        load_key_store(path)


def test_group_readable_is_accepted(tmp_path):
    path = write_store(tmp_path / "keys.json", {"active_key_id": "k", "keys": {"k": "aa" * 32}}, 0o640)
    assert load_key_store(path).active_key_id == "k"


def test_docker_secret_mount_is_accepted_whatever_its_mode(tmp_path, monkeypatch):
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    monkeypatch.setattr(keystore, "DOCKER_SECRETS_DIR", secrets_dir)
    path = write_store(secrets_dir / "logline_keys", {"active_key_id": "k", "keys": {"k": "bb" * 32}}, 0o444)
    assert load_key_store(path).active_secret == bytes.fromhex("bb" * 32)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not valid JSON"),
        ([], "'keys' object"),
        ({"active_key_id": "k", "keys": {"k": "zz" * 32}}, "not hex"),
        ({"active_key_id": "k", "keys": {"k": "aa" * 8}}, "shorter than 32 bytes"),
        ({"active_key_id": "missing", "keys": {"k": "aa" * 32}}, "active_key_id"),
    ],
)
def test_malformed_key_stores_name_the_problem_without_leaking_secrets(tmp_path, document, message):
    path = tmp_path / "keys.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    os.chmod(path, 0o600)
    with pytest.raises(KeyStoreError, match=message) as caught:
        load_key_store(path)
    assert "aa" * 8 not in str(caught.value)


def test_missing_store_and_unknown_key_id(tmp_path):
    with pytest.raises(KeyStoreError, match="not found"):
        load_key_store(tmp_path / "absent.json")
    store = create_key_store(tmp_path / "keys.json", "k1")
    with pytest.raises(KeyStoreError, match="unknown key_id 'k9'"):
        store.secret_for("k9")


def test_create_refuses_to_overwrite(tmp_path):
    path = tmp_path / "keys.json"
    create_key_store(path, "k1")
    with pytest.raises(KeyStoreError, match="already exists"):
        create_key_store(path, "k2")


def test_rotation_activates_new_key_and_old_signatures_still_verify(tmp_path):
    path = tmp_path / "keys.json"
    old = create_key_store(path, "k1")
    old_signature = sign_payload({"x": 1}, old.active_secret)
    rotated = rotate_key_store(path, "k2")
    reloaded = load_key_store(path)
    assert reloaded.active_key_id == "k2" == rotated.active_key_id
    assert reloaded.active_secret != old.active_secret
    assert verify_signature({"x": 1}, old_signature, reloaded.secret_for("k1"))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(KeyStoreError, match="already exists"):
        rotate_key_store(path, "k1")


@pytest.mark.parametrize("bad_id", ["", "two words", "a+b", "x" * 65, "k\n2"])
def test_rotation_refuses_a_key_id_that_cannot_stand_in_a_signature_line(tmp_path, bad_id):
    path = tmp_path / "keys.json"
    create_key_store(path, "k1")
    before = path.read_bytes()
    with pytest.raises(KeyStoreError, match="must match"):
        rotate_key_store(path, bad_id)
    assert path.read_bytes() == before
