import subprocess

import pytest

from vv_core import mediaprobe
from vv_core.mediaprobe import MediaProbeError, probe_media


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("probe")
    video = folder / "v.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1",
                    "-c:v", "libx264", "-preset", "ultrafast", str(video)], check=True)
    audio = folder / "a.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)],
                   check=True)
    data = folder / "d.ts"
    data.write_bytes(b"\x47" + b"\xff" * 187)  # one empty MPEG-TS packet: a container without streams
    return {"video": video, "audio": audio, "data": data}


def test_probe_video_and_audio(clips):
    info = probe_media(clips["video"])
    assert (info.video_codec, info.width, info.height, info.fps) == ("h264", 64, 48, 5.0)
    assert info.has_video and info.audio_codec is None and 0.9 <= info.duration_s <= 1.1
    assert info.size_bytes == clips["video"].stat().st_size
    sound = probe_media(clips["audio"])
    assert not sound.has_video and sound.audio_codec == "aac" and sound.fps is None


def test_unreadable_files_raise_one_line_with_the_bare_name(tmp_path, clips):
    junk = tmp_path / "secret-dir" / "junk.mp4"
    junk.parent.mkdir()
    junk.write_text("hello")
    with pytest.raises(MediaProbeError, match=r"junk\.mp4: not readable as media") as error:
        probe_media(junk)
    assert "secret-dir" not in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(MediaProbeError, match=r"no audio or video stream|not readable"):
        probe_media(clips["data"], input_format="mpegts")


def test_probe_timeout_is_reported(clips, monkeypatch):
    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs.get("timeout", 1))

    monkeypatch.setattr(mediaprobe.subprocess, "run", slow)
    with pytest.raises(MediaProbeError, match="timed out"):
        probe_media(clips["video"], timeout_s=1)


@pytest.mark.parametrize(("text", "expected"), [("25/1", 25.0), ("30000/1001", 29.97), ("0/0", None),
                                                ("x/y", None), ("5/0", None), (None, None), ("12", 12.0)])
def test_rate_parsing(text, expected):
    value = mediaprobe._rate(text)
    assert value == expected if expected is None else round(value, 2) == expected
