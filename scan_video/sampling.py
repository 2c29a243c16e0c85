"""Which frames to look at, and decoding only those (plus what the codec forces us to decode).

A sample is planned every ``interval_s``. The decoder (FFmpeg through PyAV) then goes, per sample,
the cheapest correct way:

- the keyframe index comes from the container's packets (demux only, no decode);
- if a keyframe lies between the decoder's position and the sample, it *seeks* there (nothing
  before it is decoded), otherwise it decodes forward from where it is;
- with ``tolerance_s`` > 0 the decoder skips frames no other frame refers to (H.264/HEVC
  non-reference B-frames: ~45 % of the frames of a typical x264 stream) and a sample takes the
  first decoded frame at or after its time; it moves by a frame or two, never more than
  ``tolerance_s`` (else that sample is decoded exactly). ``tolerance_s = 0`` is frame-exact;
- with ``snap_s`` a sample may move onto a nearby keyframe, so a camera stream with 1-2 s GOPs costs
  one decoded frame per sample;
- colour conversion is lazy: the motion gate reads the luma plane, and only frames that reach the
  detector are converted to BGR.

Adaptive sampling (``active_interval_s`` shorter than ``interval_s``): the plan is one sample per
``interval_s`` while the scene is still; a sample that moved against the previous one (the motion
gate's thumbnail difference, :class:`~scan_video.motion.ActivityMeter`) makes the scene *active*
for ``active_hold_s``, and while it is, samples are added every ``active_interval_s`` between the
planned ones. The decision is taken in the decoder thread as it goes, so a still stretch costs one
decoded frame per second and a moving one a few.

Decoding runs in its own thread (FFmpeg decodes without the GIL), so decode and inference overlap
on the two cores. Given a motion gate, the decoder thread also decides there whether a frame needs
the detector: a static frame is passed on as its decision only (its pixels are released at once, and
it does not count against ``prefetch``), so while the consumer is busy — loading the model, or
inferring — the decoder runs through a static stretch instead of waiting. At most ``prefetch``
frames with pixels wait in the queue. The consumer waits at most ``decode_timeout_s`` for any item,
so a stuck decoder cannot hang the scan. The recorded time of a detection is always the time of the
frame actually used.
"""

import bisect
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from scan_video.errors import BadVideoError, DecodeTimeoutError
from scan_video.motion import ActivityMeter, GateDecision, MotionGate
from scan_video.probe import VideoInfo, moving_picture_streams

_END = object()


@dataclass(frozen=True)
class Sample:
    frame_index: int
    time_s: float


@dataclass
class DecodedFrame:
    sample: Sample        # what was planned
    time_s: float         # presentation time of the frame used (s from the start)
    decode_ms: float
    frame: Any = field(repr=False)  # av.VideoFrame; None once a gate found it static (pixels released)
    shape: tuple[int, int] = (0, 0)  # (height, width)
    decision: GateDecision | None = None  # set when the sampler runs a motion gate
    motion_ms: float = 0.0
    _bgr: Any = field(default=None, repr=False)
    _grey: Any = field(default=None, repr=False)

    @property
    def infer(self) -> bool:
        return self.decision is None or self.decision.infer

    @property
    def image(self) -> Any:
        """The frame as a BGR numpy array (converted on first use)."""
        if self.frame is None:
            raise ValueError("a frame the motion gate skipped has no pixels")
        if self._bgr is None:
            self._bgr = self.frame.to_ndarray(format="bgr24")
        return self._bgr

    @property
    def grey(self) -> Any:
        """The luma plane as a numpy view when the frame is planar YUV (no copy, no conversion)."""
        if self._grey is None:
            import numpy as np

            if self.frame.format.name.startswith(("yuv", "yuvj", "nv12", "nv21")):
                plane = self.frame.planes[0]
                self._grey = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
            else:  # RGB, high bit depth, …: let FFmpeg convert
                self._grey = self.frame.to_ndarray(format="gray")
        return self._grey

    def apply_gate(self, gate: MotionGate) -> None:
        """Decide whether this frame needs the detector; a static one drops its pixels."""
        started = time.perf_counter()
        self.decision = gate.decide(self.grey if gate.enabled else None, self.time_s)
        self.motion_ms = (time.perf_counter() - started) * 1000
        if not self.decision.infer:
            self.frame = self._grey = None


@dataclass
class DecodeStats:
    frames_decoded: int = 0
    seeks: int = 0
    tail_misses: int = 0
    exact_redecodes: int = 0
    active_samples: int = 0  # samples added between the planned ones while the scene moved


def plan_samples(info: VideoInfo, interval_s: float, keyframes: tuple[float, ...] = (),
                 snap_s: float = 0.0) -> list[Sample]:
    """One sample per interval from t=0 (frame-exact, or snapped onto a keyframe within ``snap_s``)."""
    last_index = info.frame_count - 1
    samples: list[Sample] = []
    step = 0
    while True:
        target = step * interval_s
        if step and target > info.duration_s - 0.5 / info.fps:
            break
        chosen = target
        if snap_s > 0 and keyframes:
            nearest = min(keyframes, key=lambda k: abs(k - target))
            if abs(nearest - target) <= snap_s:
                chosen = nearest
        index = min(last_index, max(0, int(chosen * info.fps + 0.5)))  # round half up
        if not samples or index > samples[-1].frame_index:
            samples.append(Sample(index, round(index / info.fps, 6)))
        step += 1
    return samples


def open_video(info: VideoInfo) -> tuple[Any, Any]:
    """(container, stream) for the first real video stream (not cover art), as probe_video chose it."""
    import av

    try:
        container = av.open(str(info.path), metadata_errors="ignore")
    except (av.FFmpegError, OSError) as exc:
        raise BadVideoError(f"{info.path.name}: the decoder could not open the video ({exc})") from None
    streams = moving_picture_streams(container)
    if not streams:
        container.close()
        raise BadVideoError(f"{info.path.name}: the decoder found no video stream")
    return container, streams[0]


def index_keyframes(container: Any, stream: Any) -> tuple[float, ...]:
    """Presentation times (s from the stream start) of the keyframes: packets only, nothing decoded."""
    start = stream.start_time or 0
    base = stream.time_base
    times = {float((packet.pts - start) * base) for packet in container.demux(stream)
             if packet.is_keyframe and packet.pts is not None and packet.size}
    container.seek(0, stream=stream, backward=True)
    return tuple(sorted(round(t, 6) for t in times))


class FrameSampler:
    """Decode the planned samples in a background thread; iterate to receive them in order.

    ``samples=None`` plans them in the decoder thread once the keyframes are indexed (one sample per
    ``interval_s``, snapped within ``snap_s``); ``keyframes`` and ``samples`` are then available
    after iteration. ``start()`` begins decoding before the consumer is ready (iterating starts it
    otherwise)."""

    def __init__(self, info: VideoInfo, samples: list[Sample] | None = None, *, interval_s: float = 1.0,
                 snap_s: float = 0.0, tolerance_s: float = 0.0, decode_timeout_s: float = 30.0,
                 prefetch: int = 2, gate: MotionGate | None = None, active_interval_s: float = 0.0,
                 active_hold_s: float = 2.0, activity: ActivityMeter | None = None) -> None:
        self.info = info
        self.samples = samples
        self.interval_s = interval_s
        self.snap_s = snap_s
        self.tolerance_s = tolerance_s
        self.decode_timeout_s = decode_timeout_s
        self.gate = gate
        # Adaptive only with a meter and an active interval shorter than the planned one.
        self.activity = activity if activity is not None and 0 < active_interval_s < interval_s else None
        self.active_interval_s = active_interval_s
        self.active_hold_s = active_hold_s
        self._active_until = -1.0  # the scene counts as moving up to this time (decoder thread only)
        self.keyframes: tuple[float, ...] = ()
        self.stats = DecodeStats()
        self._queue: queue.Queue = queue.Queue()
        self._slots = threading.Semaphore(max(1, prefetch))  # frames with pixels waiting in the queue
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scan-decoder", daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()

    # -- consumer side -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[DecodedFrame]:
        self.start()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.decode_timeout_s)
                except queue.Empty:
                    raise DecodeTimeoutError(
                        f"{self.info.path.name}: no frame decoded within {self.decode_timeout_s:g} s"
                    ) from None
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                if item.frame is not None:
                    self._slots.release()
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the decoder thread (it notices within 0.1 s, or after the packet it is decoding)."""
        self._stop.set()
        while True:  # release the frames nobody will take
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    # -- producer side -------------------------------------------------------------------------
    def _put(self, item: object) -> bool:
        if isinstance(item, DecodedFrame) and item.frame is not None:
            while not self._slots.acquire(timeout=0.1):
                if self._stop.is_set():
                    return False
        if self._stop.is_set():
            return False
        self._queue.put(item)
        return True

    def _run(self) -> None:
        try:
            for frame in self._decode():
                if self.activity is not None and self.activity.moved(frame.grey):
                    self._active_until = frame.time_s + self.active_hold_s
                if self.gate is not None:
                    frame.apply_gate(self.gate)
                if not self._put(frame):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, raised there with its context
            self._put(exc)

    def _decode(self) -> Iterator[DecodedFrame]:
        container, stream = open_video(self.info)
        try:
            self.keyframes = index_keyframes(container, stream)
            if self.samples is None:
                self.samples = plan_samples(self.info, self.interval_s, self.keyframes, self.snap_s)
            planned = self._with_active_samples(self.samples) if self.activity is not None else self.samples
            yield from _Cursor(self, container, stream).frames(planned)
        finally:
            container.close()

    def _with_active_samples(self, planned: list[Sample]) -> Iterator[Sample]:
        """The planned samples, with one every ``active_interval_s`` between them while the scene is
        active (read lazily: each decision sees every frame decoded before it)."""
        fps = self.info.fps
        end = self.info.duration_s - 0.5 / fps
        for position, sample in enumerate(planned):
            yield sample
            following = planned[position + 1] if position + 1 < len(planned) else None
            stop_index = following.frame_index if following is not None else self.info.frame_count
            last_index = sample.frame_index
            step = 1
            while True:
                time_s = sample.time_s + step * self.active_interval_s
                step += 1
                index = int(time_s * fps + 0.5)
                if time_s > end or index >= stop_index or time_s > self._active_until:
                    break
                if index > last_index:
                    last_index = index
                    self.stats.active_samples += 1
                    yield Sample(index, round(index / fps, 6))


class _Cursor:
    """The decoder's position in one open stream, moved forward or by seeking, sample by sample."""

    def __init__(self, sampler: FrameSampler, container: Any, stream: Any) -> None:
        self.sampler = sampler
        self.container = container
        self.stream = stream
        self.name = sampler.info.path.name
        self.start = stream.start_time or 0
        self.base: Fraction = stream.time_base
        self.half_frame = 0.5 / sampler.info.fps
        self.keyframes = sampler.keyframes
        self.frames_iter: Iterator[tuple[float, Any]] | None = None
        self.position = -1.0  # time of the last frame decoded
        self.set_skipping(sampler.tolerance_s > 0)

    def set_skipping(self, skip: bool) -> None:
        self.stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"

    def seek(self, time_s: float) -> None:
        keyframe = self.keyframe_at_or_before(time_s)
        target = keyframe if keyframe is not None else time_s
        self.container.seek(self.start + int(target / self.base), stream=self.stream, backward=True)
        self.stream.codec_context.flush_buffers()
        self.frames_iter = self.decoded()
        self.position = -1.0
        self.sampler.stats.seeks += 1

    def keyframe_at_or_before(self, time_s: float) -> float | None:
        slot = bisect.bisect_right(self.keyframes, time_s + self.half_frame)
        return self.keyframes[slot - 1] if slot else None

    def decoded(self) -> Iterator[tuple[float, Any]]:
        import av

        stats = self.sampler.stats
        for packet in self.container.demux(self.stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError:  # a damaged packet: the decoder conceals what it can
                continue
            for frame in frames:
                if frame.pts is None:
                    continue
                stats.frames_decoded += 1
                yield float((frame.pts - self.start) * self.base), frame

    def needs_seek(self, time_s: float) -> bool:
        if self.frames_iter is None or time_s < self.position - self.half_frame:
            return True
        keyframe = self.keyframe_at_or_before(time_s)
        return keyframe is not None and keyframe > self.position + self.half_frame

    def advance_to(self, time_s: float) -> tuple[float, Any] | None:
        assert self.frames_iter is not None
        for frame_time, frame in self.frames_iter:
            self.position = frame_time
            if frame_time >= time_s - self.half_frame:
                return frame_time, frame
        return None

    def frames(self, samples: Iterable[Sample]) -> Iterator[DecodedFrame]:
        sampler = self.sampler
        info = sampler.info
        tail_start = (info.frame_count - max(1, round(info.fps))) / info.fps
        for sample in samples:
            if sampler._stop.is_set():
                return
            started = time.perf_counter()
            if self.needs_seek(sample.time_s):
                self.seek(sample.time_s)
            found = self.advance_to(sample.time_s)
            if found is not None and found[0] - sample.time_s > sampler.tolerance_s + self.half_frame:
                # Skipping non-reference frames jumped too far: decode this one exactly.
                sampler.stats.exact_redecodes += 1
                self.set_skipping(False)
                self.seek(sample.time_s)
                found = self.advance_to(sample.time_s)
                self.set_skipping(sampler.tolerance_s > 0)
            if found is None:
                if sample.time_s >= tail_start:  # container durations round up; the last frame may not exist
                    sampler.stats.tail_misses += 1
                    self.frames_iter = None
                    continue
                raise BadVideoError(
                    f"{self.name}: truncated or corrupt: no frame at {sample.time_s:.2f} s "
                    f"of {info.duration_s:.2f} s"
                )
            frame_time, frame = found
            yield DecodedFrame(sample, round(frame_time, 6), (time.perf_counter() - started) * 1000, frame,
                               (frame.height, frame.width))
