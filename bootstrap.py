"""`python3 bootstrap.py --skip-existing`: prepare a box (storage, key store, .env, fallback, models).

The blueprint's top-level name, kept as a thin entry point: arguments go to
`ops.provisioning.bootstrap.main` (also `vv bootstrap`). install.sh runs it as a file from the checkout.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: the checkout (and its vv-core) is the import root
    _CHECKOUT = Path(__file__).resolve().parent
    sys.path[:0] = [str(_CHECKOUT), str(_CHECKOUT / "vv-core")]

from ops.provisioning.bootstrap import main

if __name__ == "__main__":
    raise SystemExit(main())
