"""`vv users …`, `vv tokens …` and `vv serve` end to end, as operators run them."""

import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import repo_env
from tests.tv_api.support import ApiProcess, write_playlist


def vv(args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "vv_cli.main", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_users_and_tokens_cli_then_serve(tmp_path, storage_root):
    env = repo_env(VIDEO_STORAGE_ROOT=str(storage_root), TV_API_SECRETS_DIR=str(tmp_path / "sec"),
                   TV_API_COOKIE_SECURE="false", LOG_LEVEL="WARNING")
    added = vv(["users", "add", "ops", "--role", "admin", "--password-stdin"], env, "a long password\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "ops\tadmin"
    again = vv(["users", "add", "ops", "--password-stdin"], env, "a long password\n")
    assert again.returncode == 1 and again.stderr.startswith("error: user 'ops' already exists")
    weak = vv(["users", "add", "kid", "--password-stdin"], env, "short\n")
    assert weak.returncode == 1 and "at least" in weak.stderr
    assert "ops\tadmin" in vv(["users", "list"], env).stdout

    issued = vv(["tokens", "issue", "tv-lobby", "--tv", "tv1", "--days", "30"], env)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.count(".") == 2 and token not in issued.stderr
    assert "(TV 'tv1')" in issued.stderr
    assert vv(["tokens", "issue", "x", "--role", "root"], env).returncode == 1
    dotted = vv(["tokens", "issue", "lobby.screen"], env)
    assert dotted.returncode == 1 and "--tv" in dotted.stderr and len(dotted.stderr.strip().splitlines()) == 1
    assert "(TV 'tv2')" in vv(["tokens", "issue", "tv2"], env).stderr      # default: the device name
    assert "(admin)" in vv(["tokens", "issue", "prometheus", "--role", "admin"], env).stderr
    listing = vv(["tokens", "list"], env).stdout
    assert "tv-lobby" in listing and "live" in listing and "tv tv1" in listing

    storage_root.joinpath("playlists").mkdir(parents=True)
    write_playlist(storage_root, "tv1", [])
    write_playlist(storage_root, "tv2", [])
    server = ApiProcess({k: env[k] for k in ("VIDEO_STORAGE_ROOT", "TV_API_SECRETS_DIR", "TV_API_COOKIE_SECURE",
                                             "LOG_LEVEL")}, tmp_path / "api.log")
    server.start()
    try:
        tv = {"Authorization": f"Bearer {token}"}
        assert httpx.get(server.base_url + "/api/playlists/tv1", headers=tv).status_code == 200
        assert httpx.get(server.base_url + "/api/playlists/tv2", headers=tv).status_code == 403
        revoked = vv(["tokens", "revoke", "tv-lobby"], env)
        assert revoked.returncode == 0 and revoked.stdout.strip()
        # The running server sees the CLI's revocation (re-read within about a second).
        for _ in range(50):
            if httpx.get(server.base_url + "/api/playlists/tv1", headers=tv).status_code == 401:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("revoked token still accepted")
        login = httpx.post(server.base_url + "/api/auth/login", json={"username": "ops",
                                                                      "password": "a long password"})
        assert login.status_code == 200
    finally:
        server.stop()
    assert vv(["tokens", "revoke", "tv-lobby"], env).returncode == 1
    assert "revoked" in vv(["tokens", "list"], env).stdout
    assert vv(["users", "remove", "ops"], env).returncode == 0
    assert vv(["users", "remove", "ops"], env).returncode == 1
    help_text = vv(["serve", "--help"], env).stdout
    assert "--host" in help_text and "--port" in help_text
