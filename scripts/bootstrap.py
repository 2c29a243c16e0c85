"""Prepare a box: the storage tree and the HMAC key store. Idempotent: existing things are kept."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vv_core.keystore import create_key_store, load_key_store
from vv_core.settings import Settings


@dataclass
class BootstrapReport:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def bootstrap(settings: Settings) -> BootstrapReport:
    """Create missing storage directories and a key store (0600) if none exists."""
    report = BootstrapReport()
    layout = settings.storage
    created = layout.ensure()
    report.created.extend(created)
    report.kept.extend(d for d in layout.directories() if d not in created)
    key_store = settings.key_store_path
    if key_store.exists():
        load_key_store(key_store)  # refuse to go on with a key store we could not use
        report.kept.append(key_store)
    else:
        key_store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_key_store(key_store, datetime.now(UTC).strftime("k%Y%m%d"))
        report.created.append(key_store)
    return report
