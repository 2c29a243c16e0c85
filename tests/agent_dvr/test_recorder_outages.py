from agent_dvr.config import CameraConfig
from agent_dvr.outages import OutageStore
from agent_dvr.recorder import build_record_command


def test_rtsp_command_has_timeout_transport_segments_and_snapshot(settings, tmp_path):
    camera = CameraConfig(name="gate", url="rtsp://{dvr_ip}:554/s", rtsp_transport="udp")
    command = build_record_command(camera, settings.model_copy(update={"dvr_stall_timeout_s": 4}),
                                   tmp_path / "stage", tmp_path / "gate.jpg", start_number=7)
    joined = " ".join(command)
    assert "-rtsp_transport udp -timeout 4000000" in joined
    assert "-i rtsp://127.0.0.1:554/s" in joined
    assert "-c copy -f segment -segment_time 60" in joined
    assert "-segment_start_number 7" in joined
    assert command[command.index("-segment_list") + 1] == str(tmp_path / "stage" / "segments.csv")
    assert "-map 0:a:0?" not in joined
    assert "-atomic_writing 1" in joined and command[-5] == str(tmp_path / "gate.jpg")


def test_http_camera_with_audio(settings, tmp_path):
    camera = CameraConfig(name="web", url="http://cam.local/stream", audio=True)
    joined = " ".join(build_record_command(camera, settings, tmp_path, tmp_path / "s.jpg"))
    assert "-timeout 20000000 -reconnect 0 -analyzeduration 2000000 -skip_frame nokey" in joined
    assert "-i http://cam.local/stream" in joined
    assert "-map 0:a:0?" in joined and "-rtsp_transport" not in joined


def test_a_looping_sample_camera_is_re_encoded_with_its_name_and_the_time(settings, tmp_path):
    camera = CameraConfig(name="demo", url="/srv/sample.mp4", loop=True)
    command = build_record_command(camera, settings, tmp_path, tmp_path / "demo.jpg")
    joined = " ".join(command)
    assert "-re -stream_loop -1" in joined and "-skip_frame" not in joined  # every frame decoded
    recording = command[command.index("-map"):command.index("-f")]
    assert recording[recording.index("-c:v") + 1] == "libx264"
    assert "drawtext=text='demo %{gmtime} UTC'" in recording[recording.index("-vf") + 1]
    plain = " ".join(build_record_command(CameraConfig(name="gate", url="rtsp://x/s"), settings, tmp_path,
                                          tmp_path / "g.jpg"))
    assert "libx264" not in plain and "drawtext" not in plain  # a real camera is still only copied


def test_outage_store_open_alert_close_and_survive_reopen(tmp_path):
    store = OutageStore(tmp_path / "state" / "dvr.sqlite3")
    assert store.close_outage("cam", 100.0) is None
    first = store.open_outage("cam", 1000.0, "disconnected")
    assert store.open_outage("cam", 1005.0, "stalled").id == first.id  # still the same outage
    store.mark_alerted(first.id)
    # Another process (an agent restart) sees the open outage.
    reopened = OutageStore(tmp_path / "state" / "dvr.sqlite3")
    assert reopened.current("cam").alerted is True
    closed = reopened.close_outage("cam", 1012.5)
    assert closed.duration_s == 12.5 and closed.ended_at.endswith("Z") and closed.reason == "disconnected"
    assert reopened.current("cam") is None
    store.open_outage("other", 2000.0, "stalled")
    assert [o.camera for o in store.all()] == ["cam", "other"]
    assert [o.camera for o in store.all("other")] == ["other"]
