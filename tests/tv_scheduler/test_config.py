"""tv_scheduler/config.yaml: the shipped rules, and clear errors naming a bad key."""

import pytest

from tv_scheduler.config import load_config
from vv_core.errors import VVError


def test_shipped_config_has_the_three_tvs():
    config = load_config()
    assert config.window_hours == 24
    assert config.tvs["tv1"].statuses == ["confirmado", "curado"]
    assert config.tvs["tv2"].statuses == ["alerta"] and config.tvs["tv2"].order == "newest_first"
    assert config.tvs["tv3"].order == "shuffle" and "curado" in config.tvs["tv3"].statuses
    assert config.fallback.media_url == "/media/fallback/loop_silencioso.mp4"
    assert config.fallback.message and config.fallback.logo_url is None
    assert config.tvs["tv1"].display.captions == "all"


def test_every_config_field_has_a_description():
    from tv_scheduler.config import Display, Fallback, SchedulerConfig, TvRules

    for model in (Display, Fallback, SchedulerConfig, TvRules):
        assert model.model_config["extra"] == "forbid"
        assert all(field.description for field in model.model_fields.values()), model.__name__


@pytest.mark.parametrize(("text", "message"), [
    ("tvs:\n  tv1:\n    statuses: [alerta]\n    sttuses: [x]\n", "tvs.tv1.sttuses: unknown key"),
    ("windw_hours: 3\ntvs:\n  tv1:\n    statuses: [alerta]\n", "windw_hours: unknown key"),
    ("tvs:\n  tv1:\n    statuses: [nope]\n", "tvs.tv1.statuses.0"),
    ("tvs:\n  tv1:\n    statuses: [alerta]\n    order: random\n", "tvs.tv1.order"),
    ("max_items: 0\ntvs:\n  tv1:\n    statuses: [alerta]\n", "max_items"),
    ("tvs:\n  'bad name':\n    statuses: [alerta]\n", "tvs"),
    ("tvs: {}\n", "tvs"),
    ("", "tvs"),
    ("tvs: [\n", "not valid YAML"),
    ("fallback:\n  nme: Shop\ntvs:\n  tv1:\n    statuses: [alerta]\n", "fallback.nme: unknown key"),
    ("fallback:\n  logo_url: /etc/passwd\ntvs:\n  tv1:\n    statuses: [alerta]\n", "fallback.logo_url"),
    ("tvs:\n  tv1:\n    statuses: [alerta]\n    display:\n      captions: some\n", "tvs.tv1.display.captions"),
])
def test_bad_config_names_the_key(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(VVError, match=message.replace(".", r"\.").replace("[", r"\[")) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(VVError, match="not found"):
        load_config(tmp_path / "nope.yaml")
