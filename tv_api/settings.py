"""tv_api's settings (TV_API_* and CONSOLE_* variables): listener, auth tokens, login throttle,
/status thresholds, mirror, console."""

from pathlib import Path

from pydantic import Field, SecretStr

from vv_core.settings import CoreSettings


class TvApiSettings(CoreSettings):
    """The TV API and operator console (TV_API_*, CONSOLE_*)."""

    tv_api_host: str = Field("127.0.0.1", description="Address `vv serve` binds (0.0.0.0 in a container).")
    tv_api_port: int = Field(8000, ge=0, le=65535, description="Port `vv serve` listens on.")
    tv_api_secrets_dir: Path = Field(
        Path("secrets"),
        description="Directory (0700) of tv_api's users, device-token registry and generated JWT key.",
    )
    tv_api_jwt_secret: SecretStr | None = Field(
        None,
        description="JWT signing key (>= 32 chars). Empty: /run/secrets/tv_api_jwt_secret, else a key "
        "file in TV_API_SECRETS_DIR generated on first start (0600).",
    )
    tv_api_access_token_minutes: int = Field(
        15, ge=1, description="Lifetime of an admin access token (cookie or Bearer)."
    )
    tv_api_refresh_token_hours: int = Field(
        168, ge=1, description="Lifetime of a refresh token (rotated on every refresh, revoked on logout)."
    )
    tv_api_display_token_days: int = Field(
        365, ge=1, description="Lifetime of a TV device token issued by `vv tokens issue` (revocable)."
    )
    tv_api_cookie_secure: bool = Field(
        True, description="Mark auth cookies Secure (HTTPS only); false only for plain-HTTP loopback/dev."
    )
    tv_api_login_max_failures: int = Field(
        5, ge=1, description="Failed logins allowed per client IP within the window before HTTP 429."
    )
    tv_api_login_window_seconds: int = Field(
        300, ge=1, description="Sliding window of the login rate limit, in seconds."
    )
    tv_api_trusted_proxies: str = Field(
        "",
        description="Reverse proxies (nginx) whose X-Real-IP / X-Forwarded-For names the client for the "
        "login throttle: comma-separated addresses, CIDR networks or host names (resolved when needed). "
        "Empty: none, every peer is the client (loopback is not trusted by default). "
        "The compose stack sets `nginx`.",
    )
    tv_api_request_timeout_s: float = Field(
        10.0, gt=0, description="A client must send a whole request (head and body) within this many "
        "seconds of its first byte or of connecting, else the connection is closed (slow or half-open "
        "clients). Idle keep-alive connections close after 5 s.",
    )
    tv_api_max_connections: int = Field(
        512, ge=1, description="Open connections `vv serve` keeps; a request beyond them gets 503 at once.",
    )
    tv_api_dvr_port: int = Field(
        554, ge=1, le=65535, description="TCP port of the DVR probed by /status (RTSP), at DVR_IP."
    )
    tv_api_snapshot_stale_seconds: float = Field(
        10.0, gt=0, description="A camera snapshot older than this is stale: the mirror shows the placeholder."
    )
    tv_api_playlist_stale_seconds: float = Field(
        600.0, gt=0, description="No successful playlist build for this long marks tv_scheduler DEGRADED in /status."
    )
    tv_api_min_free_gb: float = Field(
        2.0, ge=0, description="Free space on the storage root below this: /status DEGRADED."
    )
    tv_api_critical_free_gb: float = Field(
        0.5, ge=0, description="Free space on the storage root below this: /status UNHEALTHY."
    )
    tv_api_mirror_fps: float = Field(
        2.0, gt=0, le=30, description="Frames per second the MJPEG mirror sends."
    )
    tv_api_mirror_max_seconds: int = Field(
        3600, ge=1, description="An MJPEG mirror stream ends after this; the page reconnects by itself."
    )
    console_timezone: str = Field(
        "", description="IANA time zone of the times on the operator console, e.g. Europe/Madrid "
        "(empty: BOX_TIMEZONE)."
    )
    console_embedder_model: str = Field(
        "all-minilm-l6-v2",
        description="Text-embedding model (model manifest name, kind embedder) for the console's semantic "
        "search; empty or not installed: full-text search only.",
    )

