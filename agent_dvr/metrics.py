"""Prometheus metrics of the capture agent (served on GET /metrics by the snapshot endpoint)."""

from prometheus_client import CollectorRegistry, Counter, Gauge


class DvrMetrics:
    """One registry per agent run, so tests (and several agents in one process) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["camera"]
        self.segments = Counter("vv_dvr_segments_total", "Segments published to input/.", labels,
                                registry=self.registry)
        self.segment_bytes = Counter("vv_dvr_segment_bytes_total", "Bytes of published segments.", labels,
                                     registry=self.registry)
        self.invalid_segments = Counter("vv_dvr_invalid_segments_total",
                                        "Closed segments ffprobe rejected (quarantined).", labels,
                                        registry=self.registry)
        self.restarts = Counter("vv_dvr_ffmpeg_restarts_total", "ffmpeg recorder restarts by reason.",
                                ["camera", "reason"], registry=self.registry)
        self.outages = Counter("vv_dvr_outages_total", "Camera outages that ended.", labels,
                               registry=self.registry)
        self.outage_seconds = Counter("vv_dvr_outage_seconds_total", "Seconds cameras were down (ended outages).",
                                      labels, registry=self.registry)
        self.camera_up = Gauge("vv_dvr_camera_up", "1 while data flows from the camera.", labels,
                               registry=self.registry)
        self.paused = Gauge("vv_dvr_recording_paused", "1 while recording is paused for lack of disk.", labels,
                            registry=self.registry)
        self.disk_free = Gauge("vv_dvr_disk_free_bytes", "Free bytes where segments are written.",
                               registry=self.registry)
