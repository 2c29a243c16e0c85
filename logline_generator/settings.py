"""logline_generator's settings: the witnesses that cosign its checkpoints (key stores are the kernel's)"""

from pydantic import Field

from vv_core.settings import CoreSettings


class LoglineSettings(CoreSettings):
    """LogLine writing: checkpoint witnesses."""

    transparency_witnesses: str = Field(
        "", description="Witnesses that cosign checkpoints: 'URL VERIFIER_KEY' pairs, comma-separated.",
    )
    transparency_witness_timeout_s: float = Field(
        3.0, gt=0, description="Timeout of one push to a witness (the pipeline never waits longer).",
    )
    transparency_witness_retry_s: float = Field(
        60.0, ge=0, description="After a failed push, a witness is skipped for this many seconds.",
    )
