"""The console over HTTP (TestClient on the real app): roles, CSRF, CSP, and what each page says."""

import json
import re

import pytest

from tests.tv_api.console_support import EventSpec, detection, key_store_for, write_events
from tests.tv_api.support import ADMIN_USER
from tv_api.console.index import SearchIndex

PAGES = ["/console/", "/console/live", "/console/review", "/console/search?q=gate", "/console/quarantine",
         "/console/faces", "/console/tvs", "/console/fragments/dashboard", "/console/fragments/cameras",
         "/console/audit/cam1_a", "/console/static/console.css", "/console/static/htmx.min.js"]
ACTIONS = ["/console/audit/verify-chain", "/console/quarantine/retry", "/console/quarantine/delete",
           "/console/faces/add", "/console/faces/someone-abc123/rename", "/console/faces/someone-abc123/delete",
           "/console/tvs/pair", "/console/tvs/revoke"]


@pytest.fixture
def events(api_settings):
    key_store = key_store_for(api_settings)
    return write_events(api_settings.storage.root, key_store, [
        EventSpec("cam1_a", "Person at the gate", "A person walks past the front gate.", "2026-11-21T10:15:00Z",
                  status="alerta", detections=[detection("person", 0.5)]),
        EventSpec("cam2_b", "Van in the drive", "A delivery van parks in the drive.", "2026-11-21T11:00:00Z",
                  camera="cam2", labels={"car": 1}, video="processed/cam1/20261121T102000Z.mp4"),
    ])


@pytest.fixture
def playlist(api_settings):
    from tests.tv_api.support import MEDIA_URLS, item, write_playlist

    return write_playlist(api_settings.storage.root, "lobby", [item("cam1_a", MEDIA_URLS["clip_a"], title="Gate")])


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html).group(1)


def test_root_sends_visitors_to_login_and_admins_to_the_console(client, admin_headers):
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/", headers=admin_headers, follow_redirects=False).headers["location"] == "/console/"
    assert client.get("/console/review", follow_redirects=False).headers["location"] == "/login"


@pytest.mark.parametrize("path", PAGES)
def test_display_token_cannot_open_any_console_page(client, display_headers, admin_headers, events, playlist,
                                                    path):
    assert client.get(path, headers=display_headers).status_code == 403
    assert client.get(path, headers=admin_headers).status_code == 200


@pytest.mark.parametrize("path", ACTIONS)
def test_actions_refuse_display_tokens_anonymous_callers_and_missing_csrf(client, display_headers, admin_headers,
                                                                           path):
    assert client.post(path, headers=display_headers, data={"tv": "lobby"}).status_code == 403
    assert client.post(path, data={"tv": "lobby"}).status_code == 401
    refused = client.post(path, headers=admin_headers, data={"tv": "lobby", "csrf_token": "0" * 64})
    assert refused.status_code == 403 and "refused" in refused.text
    assert client.post(path, headers=admin_headers, data={"tv": "lobby"}).status_code == 403


def test_csrf_token_of_another_session_is_refused_and_own_is_accepted(app, client, admin_headers):
    other, _ = app.state.services.tokens.issue(ADMIN_USER, "admin", "access", 600)
    other_page = client.get("/console/tvs", headers={"Authorization": f"Bearer {other}"})
    own_page = client.get("/console/tvs", headers=admin_headers)
    assert client.post("/console/tvs/pair", headers=admin_headers,
                       data={"tv": "lobby", "csrf_token": csrf_of(other_page.text)}).status_code == 403
    paired = client.post("/console/tvs/pair", headers=admin_headers,
                         data={"tv": "lobby", "csrf_token": csrf_of(own_page.text)})
    assert paired.status_code == 200 and "/tv.html?tv=lobby#token=" in paired.text
    # a cross-site request is refused even with the right token
    assert client.post("/console/tvs/pair", headers={**admin_headers, "Sec-Fetch-Site": "cross-site"},
                       data={"tv": "lobby", "csrf_token": csrf_of(own_page.text)}).status_code == 403


def test_pages_carry_a_strict_csp_and_no_inline_script(client, admin_headers, events):
    for path in ("/console/", "/console/review", "/console/audit/cam1_a", "/console/tvs"):
        page = client.get(path, headers=admin_headers)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["cache-control"] == "no-store"
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
        assert scripts and all('src="/console/static/' in attrs and not body.strip() for attrs, body in scripts)
        assert not re.search(r"<[^>]+\son[a-z]+=", page.text)  # no inline event handlers
        assert "style=" not in page.text


def test_review_is_newest_first_with_filters_and_local_times(api_settings, client, admin_headers, events):
    page = client.get("/console/review", headers=admin_headers).text
    assert page.index("Van in the drive") < page.index("Person at the gate")
    only_alerts = client.get("/console/review?status=alerta", headers=admin_headers).text
    assert "Person at the gate" in only_alerts and "Van in the drive" not in only_alerts
    by_camera = client.get("/console/review?camera=cam2", headers=admin_headers).text
    assert "Van in the drive" in by_camera and "Person at the gate" not in by_camera
    assert 'src="/media/processed/cam1/20261121T101500Z.mp4#t=0.5"' in page  # clip from the event start


def test_review_times_follow_the_configured_zone(api_settings, secrets_dir, events):
    from fastapi.testclient import TestClient

    from tv_api.app import create_app

    zoned = create_app(api_settings.model_copy(update={"console_timezone": "Asia/Tokyo"}))
    token, _ = zoned.state.services.tokens.issue(ADMIN_USER, "admin", "access", 600)
    with TestClient(zoned) as client:
        page = client.get("/console/review", headers={"Authorization": f"Bearer {token}"}).text
    assert "2026-11-21 19:15:00 JST" in page  # 10:15 UTC


def test_full_text_search_and_degraded_semantic_search(client, admin_headers, events):
    found = client.get("/console/search?q=delivery+van", headers=admin_headers).text
    assert "Van in the drive" in found and "Person at the gate" not in found
    semantic = client.get("/console/search?q=a+lorry&mode=semantic", headers=admin_headers).text
    assert 'id="degraded"' in semantic and "Full-text only" in semantic and "not installed" in semantic
    injection = client.get('/console/search?q=" OR 1 NEAR(', headers=admin_headers)
    assert injection.status_code == 200


def test_audit_page_verifies_and_then_reports_a_tampered_file(api_settings, client, admin_headers, events):
    page = client.get("/console/audit/cam1_a", headers=admin_headers).text
    assert "<h2 id=\"verdict-h\">Verified</h2>" in page and "linked to its neighbours" in page
    path = api_settings.storage.loglines / "cam1_a.logline.json"
    path.write_bytes(path.read_bytes().replace(b"Person at the gate", b"Nobody at the gate"))
    tampered = client.get("/console/audit/cam1_a", headers=admin_headers).text
    assert "Does not verify" in tampered and "bad_signature" in tampered
    summary = client.get("/console/artifact/summaries/cam1_a.summary.json", headers=admin_headers)
    assert summary.status_code == 200 and "A person walks past the front gate." in summary.text
    assert client.get("/console/artifact/loglines/cam1_a.logline.json", headers=admin_headers).status_code == 404
    # its successor's link now points at other bytes too
    assert "Does not verify" in client.get("/console/audit/cam2_b", headers=admin_headers).text


def test_verify_chain_button_runs_the_verifier(api_settings, client, admin_headers, events):
    csrf = csrf_of(client.get("/console/audit/cam1_a", headers=admin_headers).text)
    ok = client.post("/console/audit/verify-chain", headers={**admin_headers, "HX-Request": "true"},
                     data={"csrf_token": csrf})
    assert ok.status_code == 200 and "OK: 2 LogLine(s) verified" in ok.text
    (api_settings.storage.loglines / "cam2_b.logline.json").unlink()
    failed = client.post("/console/audit/verify-chain", headers=admin_headers, data={"csrf_token": csrf})
    assert "FAILED" in failed.text and "truncated" in failed.text


def test_quarantine_retry_and_delete_are_logged_with_the_user(api_settings, client, admin_headers, caplog):
    root = api_settings.storage.root
    for name in ("bad.mp4", "worse.mp4"):
        (root / "corrupted" / "cam1").mkdir(parents=True, exist_ok=True)
        (root / "corrupted" / "cam1" / name).write_bytes(b"not a video")
        (root / "corrupted" / "cam1" / f"{name}.error.json").write_text(json.dumps({
            "error": "moov atom not found", "stage": "scan", "attempts": 3, "kind": "permanent",
            "original_path": f"input/cam1/{name}", "timestamps": {"quarantined_at": "2026-11-21T10:00:00Z"}}))
    page = client.get("/console/quarantine", headers=admin_headers).text
    assert "moov atom not found" in page and "corrupted/cam1/bad.mp4" in page
    csrf = csrf_of(page)
    with caplog.at_level("INFO", logger="tv_api.console"):
        client.post("/console/quarantine/retry", headers=admin_headers,
                    data={"csrf_token": csrf, "file": "corrupted/cam1/bad.mp4"})
        client.post("/console/quarantine/delete", headers=admin_headers,
                    data={"csrf_token": csrf, "file": "corrupted/cam1/worse.mp4"})
    assert (root / "input" / "cam1" / "bad.mp4").read_bytes() == b"not a video"
    assert not (root / "corrupted" / "cam1" / "bad.mp4.error.json").exists()
    assert not list((root / "corrupted" / "cam1").iterdir())
    actions = [(r.action, r.user) for r in caplog.records if hasattr(r, "action")]
    assert ("quarantine_retry", ADMIN_USER) in actions and ("quarantine_delete", ADMIN_USER) in actions
    escape = client.post("/console/quarantine/delete", headers=admin_headers,
                         data={"csrf_token": csrf, "file": "corrupted/../loglines/cam1_a.logline.json"})
    assert escape.status_code == 400


def test_pair_and_revoke_a_tv(app, client, admin_headers):
    csrf = csrf_of(client.get("/console/tvs", headers=admin_headers).text)
    paired = client.post("/console/tvs/pair", headers=admin_headers, data={"tv": "lobby", "csrf_token": csrf})
    token = re.search(r"#token=([A-Za-z0-9_.-]+)", paired.text).group(1)
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()["role"] == "display"
    jti = re.search(r'name="jti" value="([^"]+)"', paired.text).group(1)
    client.post("/console/tvs/revoke", headers=admin_headers, data={"csrf_token": csrf, "jti": jti})
    app.state.services.tokens.registry._cache = None  # the registry re-reads at most once a second
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in client.get("/console/tvs", headers=admin_headers).text


def test_index_keeps_up_with_new_loglines_and_rebuilds(api_settings, events):
    storage = api_settings.storage
    index = SearchIndex(storage.root, storage.state, storage.loglines)
    assert index.refresh() == 2 and index.refresh() == 0
    write_events(storage.root, key_store_for(api_settings), [
        EventSpec("cam1_c", "Cat on the wall", "A cat sits on the wall.", "2026-11-21T12:00:00Z")],
        start_seq=2, prev_hash="0" * 64)
    assert index.refresh() == 1  # one new file: the directory's mtime moved
    assert [r["id"] for r in index.search_text("cat", Filters_any())] == ["cam1_c"]
    (storage.loglines / "cam1_a.logline.json").unlink()
    assert index.rebuild() == 2 and index.get("cam1_a") is None


def Filters_any():
    from tv_api.console.index import Filters

    return Filters()



def test_the_console_index_thread_ends_with_the_app(app, admin_headers):
    """The console indexes in a background thread; it must end when the app shuts down (a test run
    builds many apps, and their threads went on polling deleted folders and logging to closed streams)."""
    import threading

    from fastapi.testclient import TestClient

    def index_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "console-index"}

    before = index_threads()
    with TestClient(app) as client:
        assert client.get("/console/", headers=admin_headers).status_code == 200
        (mine,) = index_threads() - before      # the console started exactly one
    mine.join(timeout=5)                       # it polls every second: it notices the stop within one
    assert not mine.is_alive()
