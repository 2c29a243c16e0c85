"""The whole box's settings: every domain's class in one, for the tools that span domains
(`vv status`, `vv bootstrap`, the orchestrator's checks) and for tests. A stage reads only its own
class (scan_video/settings.py …); the kernel's part is vv_core/settings.py.

Built from the domains this installation carries (vv_core.settings.DOMAIN_SETTINGS): a stage image
holds the kernel, the CLI and its own stage only, and `vv` must still start there.
"""

from vv_core.settings import CoreSettings, domain_settings_classes

# Each field is declared once, in its domain's class, so the order of the bases changes nothing.
Settings: type[CoreSettings] = type(
    "Settings", tuple(domain_settings_classes()) or (CoreSettings,),
    {"__module__": __name__, "__qualname__": "Settings",
     "__doc__": "Every setting of the box (each field is declared once, in its domain's class)."},
)
