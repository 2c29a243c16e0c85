"""The auth files: generated JWT key (0600), env and file secrets, users and token registry."""

import json
import stat

import pytest
from pydantic import SecretStr

from tv_api.auth.store import AuthStoreError, TokenRegistry, UserStore, load_jwt_secret
from tv_api.auth.tokens import TokenError, TokenService


def test_jwt_key_is_generated_once_with_mode_0600(settings, tmp_path):
    configured = settings.model_copy(update={"tv_api_secrets_dir": tmp_path / "sec"})
    first = load_jwt_secret(configured)
    key_file = tmp_path / "sec" / "tv_api_jwt.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "sec").stat().st_mode) == 0o700
    assert load_jwt_secret(configured) == first and len(first) >= 64
    key_file.chmod(0o644)
    with pytest.raises(AuthStoreError, match="chmod 600"):
        load_jwt_secret(configured)
    key_file.chmod(0o600)
    key_file.write_text("short\n")
    with pytest.raises(AuthStoreError, match="shorter"):
        load_jwt_secret(configured)


def test_jwt_secret_from_the_environment_wins_and_must_be_long(settings, tmp_path):
    strong = "k" * 40
    configured = settings.model_copy(update={"tv_api_secrets_dir": tmp_path / "sec",
                                             "tv_api_jwt_secret": SecretStr(strong)})
    assert load_jwt_secret(configured) == strong.encode()
    assert not (tmp_path / "sec").exists()  # nothing generated
    weak = configured.model_copy(update={"tv_api_jwt_secret": SecretStr("short")})
    with pytest.raises(AuthStoreError, match="at least 32"):
        load_jwt_secret(weak)
    assert "short" not in repr(weak)


def test_user_store_rules(tmp_path):
    users = UserStore(tmp_path / "sec")
    assert users.list() == [] and users.get("nobody") is None
    with pytest.raises(AuthStoreError, match="role"):
        users.add("bob", "long enough password", "root")
    with pytest.raises(AuthStoreError, match="at least"):
        users.add("bob", "short", "admin")
    with pytest.raises(AuthStoreError, match="names"):
        users.add("bob smith", "long enough password", "admin")
    users.add("bob", "long enough password", "display")
    with pytest.raises(AuthStoreError, match="exists"):
        users.add("bob", "long enough password", "admin")
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600
    assert "long enough" not in users.path.read_text()
    users.remove("bob")
    with pytest.raises(AuthStoreError, match="no user"):
        users.remove("bob")
    users.path.write_text("[1, 2]")
    users.path.chmod(0o600)
    with pytest.raises(AuthStoreError, match="object"):
        users.list()
    users.path.write_text("{not json")
    with pytest.raises(AuthStoreError, match="not valid JSON"):
        users.get("x")
    users.path.write_text(json.dumps({"users": []}))
    with pytest.raises(AuthStoreError, match="'users'"):
        users.get("x")


def test_token_registry_prunes_expired_revocations_and_rejects_bad_files(tmp_path):
    registry = TokenRegistry(tmp_path / "sec")
    registry.revoke_session("old", 1.0)        # already expired: pruned at the next write
    registry.revoke_session("live", 4e9)
    document = json.loads(registry.path.read_text())
    assert list(document["revoked"]) == ["live"]
    with pytest.raises(AuthStoreError, match="no live device"):
        registry.revoke_device("ghost")
    registry.path.write_text(json.dumps({"devices": [], "revoked": {}}))
    with pytest.raises(AuthStoreError, match="devices"):
        TokenRegistry(tmp_path / "sec").devices()


def test_token_service_issues_verifiable_tokens_of_each_type(tmp_path):
    service = TokenService(b"s" * 40, TokenRegistry(tmp_path / "sec"))
    token, _principal = service.issue("alice", "admin", "access", 60)
    assert service.verify(token, expected_types=("access",)).subject == "alice"
    with pytest.raises(TokenError):
        service.verify(token, expected_types=("refresh",))
    with pytest.raises(ValueError):
        service.issue("alice", "root", "access", 60)
    device, device_principal = service.issue_device_token("tv1", 60)
    assert service.verify(device, expected_types=("display",)).role == "display"
    service.registry.revoke_device(device_principal.jti)
    service.registry._checked_at = 0
    with pytest.raises(TokenError, match="revoked"):
        service.verify(device, expected_types=("display",))
