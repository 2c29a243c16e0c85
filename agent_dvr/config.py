"""Which cameras agent_dvr records: ``agent_dvr/cameras.yaml`` parsed into a strict pydantic model.

Unknown keys are refused (a typo must not silently drop a camera). When the file does not exist,
one camera named ``dvr`` is recorded from ``DVR_DEFAULT_URL`` with ``{dvr_ip}`` filled from DVR_IP.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_dvr.settings import DvrSettings
from vv_core.errors import VVError
from vv_core.rules import load_rules

DEFAULT_CAMERA_NAME = "dvr"


class CameraConfigError(VVError):
    """cameras.yaml is unreadable or breaks the model; the message names the key."""


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="Camera name: the input/<name>/ directory and the snapshot file name.",
    )
    url: str = Field(min_length=1, description="rtsp://, http(s):// or file URL; {dvr_ip} is replaced.")
    rtsp_transport: Literal["tcp", "udp"] | None = Field(
        None, description="RTSP transport for this camera (default: DVR_RTSP_TRANSPORT)."
    )
    enabled: bool = Field(True, description="False keeps the entry but does not record it.")
    loop: bool = Field(
        False, description="A file URL read in real time and looped forever: a sample camera (make demo); "
        "re-encoded with its name and the time drawn on it, so each loop is new content.",
    )
    audio: bool = Field(
        False, description="Also copy the first audio stream (it must fit mp4, e.g. AAC; G.711 does not)."
    )

    def resolved_url(self, settings: DvrSettings) -> str:
        return self.url.replace("{dvr_ip}", settings.dvr_ip)

    def transport(self, settings: DvrSettings) -> str:
        return self.rtsp_transport or settings.dvr_rtsp_transport


class CamerasFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cameras: list[CameraConfig] = Field(default_factory=list, description="Cameras to record.")

    @field_validator("cameras")
    @classmethod
    def names_are_unique(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        names = [camera.name for camera in cameras]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate camera name(s): {', '.join(duplicates)}")
        return cameras


def parse_cameras_file(path: Path) -> CamerasFile:
    return load_rules(path, CamerasFile, CameraConfigError)


def load_cameras(settings: DvrSettings) -> list[CameraConfig]:
    """The enabled cameras: from DVR_CAMERAS_FILE if it exists, else the default DVR camera."""
    path = Path(settings.dvr_cameras_file)
    if path.is_file():
        cameras = [camera for camera in parse_cameras_file(path).cameras if camera.enabled]
    else:
        cameras = [CameraConfig(name=DEFAULT_CAMERA_NAME, url=settings.dvr_default_url)]
    if not cameras:
        raise CameraConfigError(f"{path}: no enabled camera to record")
    return cameras
