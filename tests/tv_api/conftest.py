"""Session-wide media and users (PBKDF2 at 600k iterations costs ~0.5 s a hash: hash once)."""

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.tv_api.support import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    DISPLAY_PASSWORD,
    DISPLAY_USER,
    install_media,
    make_clip,
    make_png,
)
from tv_api.app import create_app
from tv_api.auth.store import UserStore
from vv_cli.settings import Settings


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "clip_a": make_clip(folder / "a.mp4", "testsrc", 2.5),
        "clip_b": make_clip(folder / "b.mp4", "smptebars", 2.5),
        "clip_c": make_clip(folder / "c.mp4", "rgbtestsrc", 2.5),
        "loop": make_clip(folder / "loop.mp4", "testsrc2", 2.0),
        "placeholder": make_png(folder / "placeholder.png"),
    }


@pytest.fixture(scope="session")
def session_secrets(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("secrets-template")
    users = UserStore(directory)
    users.add(ADMIN_USER, ADMIN_PASSWORD, "admin")
    users.add(DISPLAY_USER, DISPLAY_PASSWORD, "display")
    return directory


@pytest.fixture
def secrets_dir(session_secrets: Path, tmp_path: Path) -> Path:
    target = tmp_path / "secrets"
    shutil.copytree(session_secrets, target)
    target.chmod(0o700)
    return target


@pytest.fixture
def api_settings(settings: Settings, secrets_dir: Path, clips) -> Settings:
    settings.storage.ensure()
    install_media(settings.storage.root, clips)
    return settings.model_copy(update={"tv_api_secrets_dir": secrets_dir, "tv_api_cookie_secure": False,
                                       "dvr_ip": "127.0.0.1", "tv_api_dvr_port": 9})


@pytest.fixture
def app(api_settings: Settings):
    return create_app(api_settings)


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def admin_headers(app) -> dict[str, str]:
    token, _ = app.state.services.tokens.issue(ADMIN_USER, "admin", "access", 600)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def display_headers(app) -> dict[str, str]:
    token, _ = app.state.services.tokens.issue_device_token("tv-test", 3600)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, clips, session_secrets):
    """Real-browser tests: a storage tree with media, a tv_api process, a device token (any TV)."""
    from tests.tv_api.browser import start_stack

    started = start_stack(tmp_path_factory, clips, session_secrets)
    yield started
    started["api"].stop()


@pytest.fixture(scope="module")
def browser(stack, tmp_path_factory):
    """Real-browser tests: headless Chromium, paired as a TV with the stack's token."""
    from tests.tv_api.browser import start_browser

    driver = start_browser(stack, tmp_path_factory)
    yield driver
    driver.quit()
