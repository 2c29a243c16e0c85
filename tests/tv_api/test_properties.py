"""Property tests: schemathesis generates requests from tv_api's OpenAPI spec, valid (positive) and
invalid (negative) ones; none may get a 5xx, with admin credentials, a TV token, or none."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from starlette.testclient import TestClient

from tests.tv_api.support import MEDIA_URLS, item, write_playlist
from tv_api.app import create_app

EXAMPLES = 5


@pytest.fixture
def fuzz_app(api_settings):
    write_playlist(api_settings.storage.root, "tv1", [item("cam1_a", MEDIA_URLS["clip_a"])])
    # Short mirror streams, so a generated request to /mirror/{camera} ends quickly.
    return create_app(api_settings.model_copy(update={"tv_api_mirror_max_seconds": 0.05, "tv_api_mirror_fps": 50}))


@pytest.mark.slow
def test_no_generated_request_gets_a_5xx(fuzz_app):
    services = fuzz_app.state.services
    admin, _ = services.tokens.issue("admin", "admin", "access", 600)
    display, _ = services.tokens.issue_device_token("tv-fuzz", 600)
    identities = {"admin": {"Authorization": f"Bearer {admin}"},
                  "display": {"Authorization": f"Bearer {display}"}, "anonymous": {}}
    schema = schemathesis.openapi.from_dict(fuzz_app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    seen_statuses: set[int] = set()
    with TestClient(fuzz_app, raise_server_exceptions=True) as client:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                check_operation(client, operation, mode, identities, seen_statuses)
    # The generator reached real handlers, not only the auth wall.
    assert {200, 401, 403, 404, 422} <= seen_statuses


def check_operation(client, operation, mode, identities, seen_statuses):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def no_server_error(case):
        for headers in identities.values():
            request = case.as_transport_kwargs(headers=headers)
            response = client.request(request["method"], request["url"].replace("http://localhost", ""),
                                      headers=request.get("headers"), params=request.get("params"),
                                      content=request.get("data") or None, json=request.get("json"))
            seen_statuses.add(response.status_code)
            assert response.status_code < 500, (operation.label, response.status_code, response.text)

    try:
        no_server_error()
    except Unsatisfiable:
        # An operation without parameters or body has no invalid variant to generate.
        assert mode is GenerationMode.NEGATIVE, operation.label
