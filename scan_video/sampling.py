"""Which frames to look at, and decoding only those (plus what the codec forces us to decode).

A sample is planned every ``interval_s``. Decoding then goes, per sample, the cheapest correct way:
if a keyframe lies between the decoder's position and the sample, *seek* (the decoder restarts at
that keyframe, skipping everything before it); otherwise *grab* forward (packets are decoded but not
converted to BGR). With ``keyframe_snap_s`` a sample may move onto a nearby keyframe, so a camera
stream with 1-2 s GOPs costs one decoded frame per sample.

Decoding runs in its own thread (OpenCV releases the GIL) and hands frames over through a small
queue, so decode and inference overlap on the two cores; the consumer waits at most
``decode_timeout_s`` for any frame, so a stuck decoder cannot hang the scan.
"""

import bisect
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scan_video.errors import BadVideoError, DecodeTimeoutError
from scan_video.probe import VideoInfo

_END = object()


@dataclass(frozen=True)
class Sample:
    frame_index: int
    time_s: float


@dataclass
class DecodedFrame:
    sample: Sample
    image: Any  # numpy BGR array
    decode_ms: float


@dataclass
class DecodeStats:
    frames_decoded: int = 0
    seeks: int = 0
    tail_misses: int = 0


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


class FrameSampler:
    """Decode the planned samples in a background thread; iterate to receive them in order."""

    def __init__(self, info: VideoInfo, samples: list[Sample], *, keyframes: tuple[float, ...] = (),
                 decode_timeout_s: float = 30.0, decoder_threads: int = 0, prefetch: int = 2) -> None:
        self.info = info
        self.samples = samples
        self.keyframe_indices = sorted({round(t * info.fps) for t in keyframes})
        self.decode_timeout_s = decode_timeout_s
        self.decoder_threads = decoder_threads
        self.stats = DecodeStats()
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scan-decoder", daemon=True)

    # -- consumer side -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[DecodedFrame]:
        self._thread.start()
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
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        # Unblock a producer waiting on a full queue.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    # -- producer side -------------------------------------------------------------------------
    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for frame in self._decode():
                if not self._put(frame):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, raised there with its context
            self._put(exc)

    def _open(self):
        import cv2

        timeout_ms = int(self.decode_timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        if self.decoder_threads:
            params += [cv2.CAP_PROP_N_THREADS, self.decoder_threads]
        capture = cv2.VideoCapture(str(self.info.path), cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            raise BadVideoError(f"{self.info.path.name}: the decoder could not open the video")
        return capture

    def _decode(self) -> Iterator[DecodedFrame]:
        import cv2

        capture = self._open()
        position = 0  # index of the next frame the decoder would return
        tail_start = self.info.frame_count - max(1, round(self.info.fps))
        try:
            for sample in self.samples:
                if self._stop.is_set():
                    return
                started = time.perf_counter()
                target = sample.frame_index
                keyframe = self._keyframe_at_or_before(target)
                ok = True
                if target < position or (keyframe is not None and keyframe > position):
                    ok = capture.set(cv2.CAP_PROP_POS_FRAMES, target)
                    self.stats.seeks += 1
                    self.stats.frames_decoded += target - (keyframe or 0)
                else:
                    for _ in range(target - position):
                        if not capture.grab():
                            ok = False
                            break
                        self.stats.frames_decoded += 1
                image = None
                if ok:
                    ok, image = capture.read()
                    self.stats.frames_decoded += 1
                position = target + 1
                if not ok or image is None:
                    if target >= tail_start:  # container durations round up; the last frame may not exist
                        self.stats.tail_misses += 1
                        continue
                    raise BadVideoError(
                        f"{self.info.path.name}: truncated or corrupt: no frame at {sample.time_s:.2f} s "
                        f"of {self.info.duration_s:.2f} s"
                    )
                yield DecodedFrame(sample, image, (time.perf_counter() - started) * 1000)
        finally:
            capture.release()

    def _keyframe_at_or_before(self, index: int) -> int | None:
        if not self.keyframe_indices:
            return None
        slot = bisect.bisect_right(self.keyframe_indices, index)
        return self.keyframe_indices[slot - 1] if slot else None
