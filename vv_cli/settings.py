"""The whole box's settings: every domain's class in one, for the tools that span domains
(`vv status`, `vv bootstrap`, the orchestrator's checks) and for tests. A stage reads only its own
class (scan_video/settings.py …); the kernel's part is vv_core/settings.py."""

from agent_dvr.settings import DvrSettings
from logline_generator.settings import LoglineSettings
from ops.settings import BackupSettings, CleanupSettings, SelfMonitorSettings
from orchestrator.settings import PipelineSettings
from scan_video.settings import ScanSettings
from summarize_scene.settings import SummarizeSettings
from transparency.settings import WitnessSettings
from tv_api.settings import TvApiSettings
from tv_scheduler.settings import SchedulerSettings
from vv_ingest.settings import IngestSettings


class Settings(
    PipelineSettings, BackupSettings, SelfMonitorSettings, CleanupSettings, ScanSettings, SummarizeSettings,
    DvrSettings, IngestSettings, TvApiSettings, SchedulerSettings, LoglineSettings, WitnessSettings,
):
    """Every setting of the box (each field is declared once, in its domain's class)."""
