"""The real scheduler's playlists (tv_scheduler, issue 4) are what tv_api serves, byte for byte."""

from ops.provisioning.bootstrap import bootstrap
from tests.helpers import REPO_ROOT
from tv_scheduler.tv_scheduler import build_scheduler


def test_scheduler_playlists_are_served_with_etags(app, client, api_settings, display_headers):
    settings = api_settings.model_copy(update={"tv_scheduler_config": REPO_ROOT / "tv_scheduler" / "config.yaml"})
    bootstrap(settings)
    written = build_scheduler(settings).run_once()
    assert written, "the scheduler wrote no playlist"
    for path in written:
        response = client.get(f"/api/playlists/{path.stem}", headers=display_headers)
        assert response.status_code == 200, path.name
        assert response.content == path.read_bytes()
        document = response.json()
        assert document["fallback"]["media_url"] == "/media/fallback/loop_silencioso.mp4"
        # The fallback it names is actually servable (and public, for unpaired TVs).
        assert client.get(document["fallback"]["media_url"]).status_code == 200
        etag = response.headers["etag"]
        assert client.get(f"/api/playlists/{path.stem}",
                          headers={**display_headers, "If-None-Match": etag}).status_code == 304
