"""The kernel's settings: what every process shares, and the base every domain's settings class builds on.

Each domain owns its settings class beside its code (``scan_video/settings.py`` …, listed in
``DOMAIN_SETTINGS``); each reads the environment and ``.env`` with the same variable names as ever.
Unknown variables in the environment are ignored (it holds much else), but a key in ``.env`` that no
domain knows is refused (a typo must not be a silent no-op). A ``.env`` key another domain owns is
that domain's business: a class drops it instead of refusing it.
"""

import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vv_core.storage import StorageLayout

# Every domain's settings class, "module:Class". Named, not imported: the kernel imports nothing
# above it; the names are resolved only to tell a typo in .env from another domain's key.
DOMAIN_SETTINGS: tuple[str, ...] = (
    "agent_dvr.settings:DvrSettings",
    "scan_video.settings:ScanSettings",
    "summarize_scene.settings:SummarizeSettings",
    "logline_generator.settings:LoglineSettings",
    "tv_scheduler.settings:SchedulerSettings",
    "tv_api.settings:TvApiSettings",
    "vv_ingest.settings:IngestSettings",
    "transparency.settings:WitnessSettings",
    "orchestrator.settings:PipelineSettings",
    "ops.settings:BackupSettings",
    "ops.settings:SelfMonitorSettings",
    "ops.settings:CleanupSettings",
    "ops.settings:UpdateSettings",
    "ops.settings:DiagnosisSettings",
)


def domain_settings_classes() -> list[type["CoreSettings"]]:
    """The domain classes this installation carries (an image without a domain skips it)."""
    classes = []
    for spec in DOMAIN_SETTINGS:
        module_name, _, class_name = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        classes.append(getattr(module, class_name))
    return classes


@lru_cache(maxsize=1)
def setting_owners() -> dict[str, type["CoreSettings"]]:
    """Every setting any domain declares (lower case) → a class that declares it."""
    owners: dict[str, type[CoreSettings]] = {name: CoreSettings for name in CoreSettings.model_fields}
    for cls in domain_settings_classes():
        for name in cls.model_fields:
            owners.setdefault(name, cls)
    return owners


class _OwnKeysOfDotenv(PydanticBaseSettingsSource):
    """The ``.env`` source minus the keys other domains own. Those are still checked by their owner's
    class (a bad value in .env is refused by every process, as when one class held them all);
    unknown keys stay and are refused as extra."""

    def __init__(self, settings_cls: type[BaseSettings], dotenv: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._dotenv = dotenv

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False  # unused: __call__ delegates to the wrapped source

    def __call__(self) -> dict[str, Any]:
        own = set(self.settings_cls.model_fields)
        owners = setting_owners()
        mine: dict[str, Any] = {}
        theirs: dict[type[CoreSettings], dict[str, Any]] = {}
        for key, value in self._dotenv().items():
            owner = owners.get(key.lower())
            if key.lower() in own or owner is None:
                mine[key] = value
            else:
                theirs.setdefault(owner, {})[key.lower()] = value
        for owner, values in theirs.items():
            owner(_env_file=None, **values)  # validation only: raises naming the variable
        return mine


class VVSettings(BaseSettings):
    """Base of every settings class: environment + ``.env``, unknown keys refused."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="forbid", case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _OwnKeysOfDotenv(settings_cls, dotenv_settings),
                file_secret_settings)


class CoreSettings(VVSettings):
    """What every process shares: storage root, logging, key stores, cameras, models, alerts."""

    video_storage_root: Path = Field(
        Path("storage"), description="Root of the storage tree (input, analytic, loglines, …)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Minimum level of the JSON logs."
    )
    service_name: str = Field("vv", description="service_name field of every log line.")
    box_timezone: str = Field(
        "UTC",
        description="IANA time zone of the box and its cameras (e.g. Europe/Madrid): local times in "
        "summaries and the day/night rules. Files and LogLines keep UTC.",
    )
    key_store_path: Path = Field(
        Path("secrets/logline_keys.json"),
        description="HMAC key store (JSON, mode 0600, or a Docker secret under /run/secrets).",
    )
    dvr_ip: str = Field("127.0.0.1", description="Address of the default camera/DVR.")
    alert_webhook_url: str | None = Field(
        None, description="Webhook that receives alerts as JSON (empty: alerts are only logged)."
    )

    alert_webhook_format: Literal["auto", "generic", "slack", "telegram"] = Field(
        "auto",
        description="Payload format of the alert webhook; auto picks slack/telegram from the URL's host.",
    )
    alert_telegram_chat_id: str | None = Field(
        None, description="chat_id sent with Telegram-format alerts (required for Telegram)."
    )
    alert_dedup_window_s: float = Field(
        900.0, ge=0, description="An identical alert is sent at most once per this many seconds."
    )
    alert_retries: int = Field(3, ge=0, le=10, description="Extra delivery attempts after a failure.")
    alert_retry_backoff_s: float = Field(
        1.0, ge=0, description="First retry delay; doubles on each further retry."
    )
    alert_timeout_s: float = Field(5.0, gt=0, description="HTTP timeout of one webhook delivery.")

    disk_min_free_percent: float = Field(
        10.0, ge=0, le=100, description="Free space of the storage root below this raises an alert."
    )
    models_dir: Path = Field(
        Path("models"),
        description="Installed models (<name>/<version>/<file>), model_manifest.json and the current-model pointers.",
    )
    dvr_cameras_file: Path = Field(
        Path("agent_dvr/cameras.yaml"),
        description="Cameras to record (YAML); when the file is missing one camera 'dvr' uses DVR_DEFAULT_URL.",
    )
    checkpoint_key_store_path: Path = Field(
        Path("secrets/checkpoint_keys.json"),
        description="Ed25519 checkpoint-signing key store (the HMAC key store's format, mode 0600).",
    )
    transparency_origin: str = Field(
        "vv.local/loglines", pattern=r"^[^\s+]+$",
        description="Checkpoint origin line and signing key name: unique to this box (no spaces or '+').",
    )

    @field_validator("box_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value.upper() == "UTC":
            return "UTC"
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


    @property
    def storage(self) -> StorageLayout:
        return StorageLayout(self.video_storage_root)
