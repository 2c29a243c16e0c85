"""Prometheus metrics: tv_api's own HTTP traffic, plus gauges read from files at scrape time
(playlist age, the scheduler's last build, disk free) and the orchestrator's pipeline metrics from
state/pipeline_status.json.

Each app gets its own registry (tests build several apps in one process).
"""

import contextlib
import shutil
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from tv_api.playlists import PlaylistStore
from tv_api.settings import TvApiSettings
from tv_api.status import read_heartbeat, read_pipeline_status

COMBINED_PLAYLIST = "playlist"  # tv_scheduler's all-TVs document: not a TV, no freshness series
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _bound(text: str) -> float:
    return float("inf") if text == "+Inf" else float(text)


class FileSignalsCollector(Collector):
    def __init__(self, settings: TvApiSettings, playlists: PlaylistStore) -> None:
        self.settings = settings
        self.playlists = playlists

    def collect(self) -> Iterator:
        now = time.time()
        ages = GaugeMetricFamily("vv_playlist_age_seconds", "Seconds since the TV's playlist was written",
                                 labels=["tv"])
        for tv, age in self.playlists.ages(now).items():
            if tv != COMBINED_PLAYLIST:
                ages.add_metric([tv], age)
        yield ages
        yield from self._scheduler(now)
        try:
            usage = shutil.disk_usage(self.settings.storage.root)
            free, total = usage.free, usage.total
        except OSError:
            free = total = 0
        yield GaugeMetricFamily("vv_storage_free_bytes", "Free bytes on the storage root", value=free)
        yield GaugeMetricFamily("vv_storage_total_bytes", "Size of the storage root's filesystem", value=total)
        yield from self._pipeline(now)

    def _scheduler(self, now: float) -> Iterator:
        # A playlist file is rewritten only when its content changes, so its age grows on an idle
        # box; what says "this TV's playlist is current" is the scheduler's last successful build.
        heartbeat = read_heartbeat(self.settings)
        yield GaugeMetricFamily("vv_scheduler_heartbeat_present",
                                "1 if tv_scheduler's state/scheduler_heartbeat.json could be read",
                                value=1 if heartbeat else 0)
        builds = GaugeMetricFamily("vv_playlist_build_age_seconds",
                                   "Seconds since tv_scheduler last built this TV's playlist successfully",
                                   labels=["tv"])
        if heartbeat:
            age = max(0.0, now - float(heartbeat["built_at_unix"]))
            for tv in heartbeat["tvs"]:
                if isinstance(tv, str) and tv != COMBINED_PLAYLIST:
                    builds.add_metric([tv], age)
        yield builds

    def _pipeline(self, now: float) -> Iterator:
        status = read_pipeline_status(self.settings)
        yield GaugeMetricFamily("vv_pipeline_status_present",
                                "1 if state/pipeline_status.json could be read", value=1 if status else 0)
        if not status:
            return
        path = self.settings.storage.pipeline_status
        with contextlib.suppress(OSError):  # the orchestrator may be replacing the file right now
            yield GaugeMetricFamily("vv_pipeline_status_age_seconds", "Seconds since the orchestrator wrote "
                                    "its status", value=max(0.0, now - path.stat().st_mtime))
        yield GaugeMetricFamily("vv_pipeline_queue_length", "Videos waiting in input/",
                                value=status.get("queue_length", 0))
        videos = status.get("videos") or {}
        yield CounterMetricFamily("vv_pipeline_videos_done", "Videos fully processed", value=videos.get("done", 0))
        yield CounterMetricFamily("vv_pipeline_videos_failed", "Videos quarantined after failures",
                                  value=videos.get("failed", 0))
        yield GaugeMetricFamily("vv_pipeline_videos_in_progress", "Videos being processed",
                                value=videos.get("in_progress", 0))
        runs = CounterMetricFamily("vv_pipeline_stage_runs", "Stage runs", labels=["stage"])
        errors = CounterMetricFamily("vv_pipeline_stage_errors", "Stage runs that failed", labels=["stage"])
        durations = HistogramMetricFamily("vv_pipeline_stage_duration_seconds", "Stage run duration",
                                          labels=["stage"])
        for stage, data in sorted((status.get("stages") or {}).items()):
            runs.add_metric([stage], data.get("runs", 0))
            errors.add_metric([stage], data.get("errors", 0))
            count = data.get("duration_seconds_count", 0)
            raw = data.get("duration_seconds_buckets") or {}
            buckets = sorted(((_bound(b), v) for b, v in raw.items() if b != "+Inf"), key=lambda p: p[0])
            rendered = [(repr(bound) if bound != int(bound) else f"{bound:.1f}", value) for bound, value in buckets]
            rendered.append(("+Inf", count))
            durations.add_metric([stage], rendered, data.get("duration_seconds_sum", 0.0))
        yield runs
        yield errors
        yield durations


class ApiMetrics:
    def __init__(self, settings: TvApiSettings, playlists: PlaylistStore) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("vv_http_requests", "HTTP requests served by tv_api",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("vv_http_request_duration_seconds", "tv_api request latency",
                                 ["method", "route"], buckets=HTTP_BUCKETS, registry=self.registry)
        self.registry.register(FileSignalsCollector(settings, playlists))

        # Label lookups cost more than the increments: keep the children per label set (bounded by
        # routes × methods × statuses, all finite since unmatched paths share one label).
        self._children: dict[tuple[str, str, int], tuple] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in KNOWN_METHODS:
            method = "OTHER"  # clients choose the method string: never let them mint label sets
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
