"""`python scripts/self_monitor.py [--once | --loop]`: restart failing containers (same as `vv self-monitor`).

The blueprint's script name, kept as a thin entry point: arguments go to `ops.upkeep.self_monitor.main`.
Runs as a file from a bare checkout (how auditors run it) and as `python -m scripts.self_monitor`.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the checkout (and its vv-core) is the import root
    _CHECKOUT = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(_CHECKOUT), str(_CHECKOUT / "vv-core")]

from ops.upkeep.self_monitor import main

if __name__ == "__main__":
    raise SystemExit(main())
