"""agent_dvr's settings (DVR_* variables): camera URL, segments, reconnects, free space, snapshot endpoint"""

from typing import Literal

from pydantic import Field

from vv_core.settings import CoreSettings


class DvrSettings(CoreSettings):
    """Camera capture (DVR_* variables)."""

    dvr_default_url: str = Field(
        "rtsp://{dvr_ip}:554/stream1",
        description="URL template of the default camera; {dvr_ip} is replaced by DVR_IP.",
    )
    dvr_rtsp_transport: Literal["tcp", "udp"] = Field("tcp", description="RTSP transport for cameras.")
    dvr_segment_seconds: float = Field(60.0, gt=0, description="Length of each recorded segment (s).")
    dvr_stall_timeout_s: float = Field(
        20.0, gt=0, description="No new data for this long: the stream is stalled and ffmpeg restarts."
    )
    dvr_backoff_initial_s: float = Field(1.0, gt=0, description="First reconnect delay after a drop (s).")
    dvr_backoff_max_s: float = Field(60.0, gt=0, description="Longest reconnect delay (doubles up to this).")
    dvr_outage_alert_after_s: float = Field(
        60.0, ge=0, description="An outage longer than this raises an alert (s)."
    )
    dvr_min_free_mb: int = Field(
        1024, ge=0, description="Free space under input/ below this pauses recording with an alert (MB)."
    )
    dvr_raw_copy: bool = Field(False, description="Also keep an untouched copy of each segment in raw/.")
    dvr_snapshot_interval_s: float = Field(
        5.0, gt=0, description="Seconds between JPEG snapshots (state/snapshots/<camera>.jpg)."
    )
    dvr_http_host: str = Field("127.0.0.1", description="Address of the snapshot/metrics HTTP endpoint.")
    dvr_http_port: int = Field(
        8091, ge=0, le=65535, description="Port of the snapshot/metrics HTTP endpoint (0: any free port)."
    )

