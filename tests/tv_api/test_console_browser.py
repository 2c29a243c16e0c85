"""The operator console in a real headless Chromium against a real tv_api process on loopback.

One walk through, as an operator would: log in, dashboard, find an event by words and by meaning,
play its clip, open its LogLine and see it verify, run the chain verifier, tamper a LogLine on disk
and see the page say so, retry a quarantined file, add a face from a snapshot, pair and revoke a TV;
then the pages at phone width and from the keyboard. Screenshots go to test-artifacts/console/.
"""

import json
import shutil
import subprocess

import httpx
import pytest

from tests.helpers import REPO_ROOT
from tests.tv_api.console_support import EventSpec, detection, install_embedder, write_events
from tests.tv_api.support import ADMIN_PASSWORD, ADMIN_USER, MEDIA_URLS, ApiProcess, install_media, item, write_playlist
from tests.tv_api.test_browser import wait_for
from vv_core.keystore import create_key_store
from vv_core.storage import StorageLayout

webdriver = pytest.importorskip("selenium.webdriver")
By = pytest.importorskip("selenium.webdriver.common.by").By
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium + chromium-driver needed")]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "console"

EVENTS = [
    EventSpec("cam1_bike", "Cyclist passes the gate after dark", "A person rides a bicycle past the front gate "
              "at night.", "2026-11-21T23:10:00Z", status="alerta", labels={"person": 1, "bicycle": 1},
              video="processed/cam1/20261121T101500Z.mp4",
              detections=[detection("person", 0.8), detection("bicycle", 1.2), detection("face", 1.6, "face")]),
    EventSpec("cam1_van", "Delivery van at the garage", "A white van parks and a courier carries a parcel.",
              "2026-11-21T10:00:00Z", labels={"car": 1, "person": 1}, video="processed/cam1/20261121T102000Z.mp4",
              detections=[detection("car", 0.4)]),
    EventSpec("cam2_dog", "Dog on the lawn", "A dog runs across the lawn.", "2026-11-21T12:00:00Z",
              camera="cam2", labels={"dog": 1}, video="processed/cam1/20261121T102000Z.mp4"),
]


def add_person_crop(root, event_id: str) -> None:
    """The scanner's tracked person event with its crop (the right man of zidane.jpg, the face the
    scanner tests name) in the event's analytic, as scan_video writes it."""
    import cv2

    from tests.scan_video import media

    image = cv2.imread(str(media.asset("zidane.jpg")))
    crop = root / "snapshots" / event_id / "e1.crop.jpg"
    crop.parent.mkdir(parents=True)
    cv2.imwrite(str(crop), image[:, int(image.shape[1] * 0.58):])
    analytic_file = root / "analytic" / f"{event_id}.analytic.json"
    analytic = json.loads(analytic_file.read_text())
    analytic["events"] = [{"id": "e1", "label": "person", "first_seen_s": 0.8, "last_seen_s": 1.6, "snapshot": {
        "frame": f"snapshots/{event_id}/e1.jpg", "crop": f"snapshots/{event_id}/e1.crop.jpg", "timestamp": 0.8}}]
    analytic_file.write_text(json.dumps(analytic))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, clips, session_secrets):
    base = tmp_path_factory.mktemp("console")
    layout = StorageLayout(base / "storage")
    layout.ensure()
    install_media(layout.root, clips)
    key_store = create_key_store(base / "keys.json", "k1")
    write_events(layout.root, key_store, EVENTS)
    add_person_crop(layout.root, "cam1_bike")
    snapshots = layout.state / "snapshots"
    snapshots.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(clips["clip_a"]), "-frames:v", "1", "-y",
                    str(snapshots / "cam1.jpg")], check=True, timeout=60)
    (layout.corrupted / "cam1").mkdir()
    (layout.corrupted / "cam1" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    (layout.corrupted / "cam1" / "broken.mp4.error.json").write_text(json.dumps({
        "error": "ffprobe: moov atom not found", "stage": "scan", "attempts": 3, "kind": "permanent",
        "original_path": "input/cam1/broken.mp4", "timestamps": {"quarantined_at": "2026-11-21T10:00:00Z"}}))
    write_playlist(layout.root, "lobby", [item("cam1_bike", MEDIA_URLS["clip_a"], status="alerta",
                                               title="Cyclist passes the gate after dark")])
    secrets_dir = base / "secrets"
    shutil.copytree(session_secrets, secrets_dir)
    models = install_embedder(base / "models")
    api = ApiProcess({"VIDEO_STORAGE_ROOT": str(layout.root), "TV_API_SECRETS_DIR": str(secrets_dir),
                      "TV_API_COOKIE_SECURE": "false", "TV_API_MIRROR_FPS": "5",
                      "KEY_STORE_PATH": str(base / "keys.json"),
                      "MODELS_DIR": str(models), "CONSOLE_TIMEZONE": "Europe/Madrid"}, base / "api.log").start()
    yield {"api": api, "root": layout.root, "log": base / "api.log"}
    api.stop()


@pytest.fixture(scope="module")
def browser(stack, tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1280,720",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-console')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name):
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def text(driver):
    return driver.find_element(By.TAG_NAME, "body").text


def csp_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def test_01_log_in_and_see_the_dashboard(browser, stack):
    base = stack["api"].base_url
    browser.get(base + "/")
    wait_for(lambda: browser.current_url.endswith("/login"), what="the login page")
    browser.find_element(By.NAME, "username").send_keys(ADMIN_USER)
    browser.find_element(By.NAME, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.current_url.endswith("/console/"), what="the console after login")
    body = text(browser)
    assert "State:" in body and "Queue" in body and "Disk" in body and "GB free" in body
    assert "cam1" in body and "Cyclist passes the gate after dark" in body  # camera card, last alert
    assert "lobby" in body  # the TV and what it shows
    snapshot = browser.find_element(By.CSS_SELECTOR, "img[alt='Latest snapshot of cam1']")
    wait_for(lambda: browser.execute_script("return arguments[0].naturalWidth", snapshot) > 0, what="snapshot")
    # the dashboard refreshes by itself (htmx every 5 s): a mark put on the old content disappears
    browser.execute_script("document.querySelector('#dashboard section').setAttribute('data-seen', '1')")
    wait_for(lambda: browser.execute_script("return !document.querySelector('#dashboard section[data-seen]')"),
             timeout=12, what="the dashboard to refresh itself")
    shot(browser, "dashboard")
    assert csp_errors(browser) == []


def test_02_find_an_event_by_words_and_by_meaning_and_play_its_clip(browser, stack):
    base = stack["api"].base_url
    browser.get(base + "/console/search?q=cyclist")
    assert "Cyclist passes the gate after dark" in text(browser) and "full text" in text(browser)
    box = browser.find_element(By.NAME, "q")
    box.clear()
    box.send_keys("someone on a bike at night")
    browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=semantic]").click()
    browser.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]").click()
    wait_for(lambda: "semantic" in browser.current_url, what="the semantic search")
    first = browser.find_element(By.CSS_SELECTOR, "article.event h3")
    assert first.text == "Cyclist passes the gate after dark" and "degraded" not in browser.page_source
    shot(browser, "search_semantic")
    video = browser.find_element(By.CSS_SELECTOR, "article.event video")
    assert video.get_attribute("src").endswith("/media/processed/cam1/20261121T101500Z.mp4#t=0.8")
    browser.execute_script("arguments[0].muted = true; arguments[0].play();", video)
    played = wait_for(lambda: (t := browser.execute_script("return arguments[0].currentTime", video)) > 1.0 and t,
                      what="the clip to play")
    assert played >= 0.8  # started at the event's first detection, not at 0
    assert csp_errors(browser) == []


def test_03_open_the_logline_see_it_verify_and_run_the_chain_verifier(browser, stack):
    browser.find_element(By.LINK_TEXT, "Cyclist passes the gate after dark").click()
    wait_for(lambda: "/console/audit/cam1_bike" in browser.current_url, what="the audit page")
    assert browser.find_element(By.ID, "verdict-h").text == "Verified"
    assert "valid (HMAC-SHA256" in browser.find_element(By.ID, "sig-result").text
    assert '"id":"cam1_bike"' in browser.find_element(By.CSS_SELECTOR, "pre.json").text
    browser.find_element(By.ID, "verify-chain").click()
    verdict = wait_for(lambda: browser.find_elements(By.ID, "chain-verdict"), what="the chain verdict")[0]
    assert verdict.text == "OK: 3 LogLine(s) verified."
    shot(browser, "audit_verified")


def test_04_a_tampered_logline_is_reported(browser, stack):
    path = stack["root"] / "loglines" / "cam1_van.logline.json"
    path.write_bytes(path.read_bytes().replace(b"a courier carries", b"a courier steals"))
    browser.get(stack["api"].base_url + "/console/audit/cam1_van")
    assert browser.find_element(By.ID, "verdict-h").text == "Does not verify"
    assert "INVALID: bad_signature" in browser.find_element(By.ID, "sig-result").text
    browser.find_element(By.ID, "verify-chain").click()
    verdict = wait_for(lambda: browser.find_elements(By.ID, "chain-verdict"), what="the chain verdict")[0]
    assert verdict.text.startswith("FAILED") and "cam1_van.logline.json: bad_signature" in text(browser)
    shot(browser, "audit_tampered")


def test_05_retry_a_quarantined_file(browser, stack):
    browser.get(stack["api"].base_url + "/console/quarantine")
    assert "ffprobe: moov atom not found" in text(browser) and "3" in text(browser)
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Retry corrupted/cam1/broken.mp4']").click()
    wait_for(lambda: browser.find_elements(By.ID, "empty"), what="the empty quarantine")
    assert (stack["root"] / "input" / "cam1" / "broken.mp4").is_file()
    assert not (stack["root"] / "corrupted" / "cam1" / "broken.mp4").exists()
    logged = [json.loads(line) for line in stack["log"].read_text().splitlines() if '"console action"' in line]
    assert any(e.get("action") == "quarantine_retry" and e.get("user") == ADMIN_USER for e in logged)


def test_06_add_a_face_from_an_event_snapshot(browser, stack):
    browser.get(stack["api"].base_url + "/console/review?camera=cam1")
    browser.find_element(By.CSS_SELECTOR, "#event-cam1_bike .media a").click()
    wait_for(lambda: "/console/faces?event=cam1_bike" in browser.current_url, what="the faces page")
    browser.find_element(By.ID, "face-name-event").send_keys("Ana Ruiz")
    browser.find_element(By.XPATH, "//button[text()='Add from this snapshot']").click()
    card = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-person='Ana Ruiz']"), what="the card")[0]
    picture = card.find_element(By.TAG_NAME, "img")
    wait_for(lambda: browser.execute_script("return arguments[0].naturalWidth", picture) > 0, what="the picture")
    shot(browser, "faces")
    assert "picture 1: not encoded yet" in card.text
    # what was stored is the scanner's crop of the person, in the library the scanner matches against
    (folder,) = [f for f in (stack["root"] / "state" / "faces").iterdir() if f.is_dir()]
    stored = json.loads((folder / "person.json").read_text())["pictures"][0]
    crop = stack["root"] / "snapshots" / "cam1_bike" / "e1.crop.jpg"
    assert (folder / stored["file"]).read_bytes() == crop.read_bytes()
    assert stored["source"] == "event cam1_bike crop cam1_bike/e1.crop.jpg"
    from scan_video.face_library import library_path, list_people  # the scanner's side (dlib)

    assert list_people(library_path(stack["root"])) == {"Ana Ruiz": 1}
    browser.refresh()
    card = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-person='Ana Ruiz']"), what="the card")[0]
    assert "picture 1: usable" in card.text
    # the person is now a review filter and is found by name
    browser.get(stack["api"].base_url + "/console/search?q=Ana")
    assert "Cyclist passes the gate after dark" in text(browser)


def test_07_pair_and_revoke_a_tv(browser, stack):
    base = stack["api"].base_url
    browser.get(base + "/console/tvs")
    assert "Cyclist passes the gate after dark" in text(browser)  # the playlist as the TV sees it
    browser.find_element(By.NAME, "tv").send_keys("lobby")
    browser.find_element(By.XPATH, "//button[text()='Pair']").click()
    url = wait_for(lambda: browser.find_elements(By.ID, "pair-url"), what="the pairing link")[0].get_attribute("value")
    token = url.split("#token=")[1]
    assert httpx.get(base + "/api/playlists/lobby", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    shot(browser, "tvs_paired")
    browser.get(base + "/console/tvs")
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke the token of lobby']").click()
    browser.switch_to.alert.accept()
    wait_for(lambda: "revoked" in browser.find_element(By.ID, "devices").text, what="the revoked state")
    wait_for(lambda: httpx.get(base + "/api/playlists/lobby",
                               headers={"Authorization": f"Bearer {token}"}).status_code == 401, timeout=5,
             what="the token to stop working")


def test_08_phone_width_and_keyboard(browser, stack):
    base = stack["api"].base_url
    browser.set_window_size(390, 844)
    try:
        for page in ("/console/", "/console/review", "/console/quarantine", "/console/tvs"):
            browser.get(base + page)
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{page} scrolls sideways at phone width by {overflow}px"
        browser.get(base + "/console/review")
        shot(browser, "review_phone")
    finally:
        browser.set_window_size(1280, 720)
    browser.get(base + "/console/review")
    shot(browser, "review")
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue004")  # Tab
    assert browser.switch_to.active_element.text == "Skip to content"
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select')]"
        ".filter(e => !e.closest('label') && !e.getAttribute('aria-label')).length")
    assert unlabelled == 0
    assert csp_errors(browser) == []
