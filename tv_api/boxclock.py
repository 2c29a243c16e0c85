"""The box's time zone as the TV pages see it: the one place that reads the setting.

TVs show "Today 14:02" in the box's zone, not their own (a TV's zone is whatever its firmware
says). The zone comes from the ``box_timezone`` setting (BOX_TIMEZONE) when vv_core's settings
have it; an unset or unknown zone is UTC, with a warning in the log.
"""

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tv_api.settings import TvApiSettings

log = logging.getLogger("tv_api.boxclock")
DEFAULT_ZONE = "UTC"


def box_timezone(settings: TvApiSettings) -> str:
    """An IANA zone name the browser understands (Intl.DateTimeFormat's timeZone)."""
    name = str(getattr(settings, "box_timezone", None) or DEFAULT_ZONE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown box time zone; TVs show UTC", extra={"timezone": name})
        return DEFAULT_ZONE
    return name
