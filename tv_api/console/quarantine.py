"""The console's quarantine page acts through the orchestrator's own module (it owns corrupted/)."""

from orchestrator.quarantine import (  # noqa: F401 (the console's names)
    ERROR_SUFFIX,
    QuarantinedFile,
    QuarantineError,
    delete,
    list_quarantined,
    resolve_quarantined,
    retry,
)
