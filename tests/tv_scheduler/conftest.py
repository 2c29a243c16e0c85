"""A storage root with signed LogLines and their (tiny) media files."""

from datetime import UTC, datetime

import pytest

from tests.logline_fixtures import fast_chain, make_key_store, place_media
from tv_scheduler.config import load_config
from tv_scheduler.tv_scheduler import Scheduler

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def keys(settings):
    return make_key_store(settings.key_store_path)


@pytest.fixture
def populate(settings, keys):
    """populate(count, spacing_s=60) → records; every referenced video exists (an empty file with the
    orchestrator's placement record vouching for it)."""

    def make(count, spacing_s=60.0, now=NOW, create_media=True):
        records = fast_chain(settings.storage.loglines, count, keys, now=now, spacing_s=spacing_s)
        if create_media:
            for record in records:
                place_media(settings.video_storage_root, record)
        return records

    return make


@pytest.fixture
def scheduler(settings, keys):
    return Scheduler(settings, load_config())
