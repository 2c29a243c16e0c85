"""The clock-ahead run's injected clock (`make test-clock-ahead`): with VV_TEST_CLOCK_AHEAD_S set, every
Python process of the test run (pytest and the `vv …` commands it starts, which find this file on
PYTHONPATH) sees the wall clock moved ahead by that many seconds and ticking. No test may depend on the
day it was written: a recording named after a fixed date once aged out of a 24 h window and broke CI.

Only the wall clock moves (time.time, datetime.now, gmtime/localtime…); monotonic clocks and sleeps
stay real, and so do programs that are not Python (ffmpeg, nginx, restic, chromium) and the kernel's
file times. Tests whose subject is the relation between file times and the wall clock are marked
`real_clock` and run only in the normal run (tests/conftest.py).
"""

import os

_ahead = os.environ.get("VV_TEST_CLOCK_AHEAD_S")
if _ahead:
    try:
        import time

        import time_machine
    except ImportError:  # a Python without the dev requirements (Debian's python3 for the RTSP camera)
        pass
    else:
        time_machine.travel(time.time() + float(_ahead), tick=True).start()
