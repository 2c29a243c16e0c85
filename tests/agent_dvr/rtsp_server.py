"""A real RTSP camera on loopback for agent_dvr's tests (run by Debian's /usr/bin/python3).

Usage: /usr/bin/python3 rtsp_server.py PORT [FPS]
Serves a moving test pattern as H.264 at rtsp://127.0.0.1:PORT/cam. Prints "READY" once the
server is attached, so a test can wait for it. SIGKILL makes the camera vanish; SIGSTOP hangs it.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    port = sys.argv[1]
    fps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    # Key frame every second so a segment boundary is never far away; small frames keep CPU low.
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("FAILED to bind", flush=True)
        sys.exit(1)
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
