"""A benchctl worker on a "host" whose wall clock is off by SKEW seconds (``time.time`` only;
the monotonic clock is untouched), joining a master at 127.0.0.1:PORT. Stands in for a remote
worker machine without NTP: ``python skewed_worker.py SKEW PORT``."""

import runpy
import sys
import time

skew, port = float(sys.argv[1]), sys.argv[2]
_real = time.time
time.time = lambda: _real() + skew
sys.argv = ["benchctl-engine", "--role", "worker", "--master-host", "127.0.0.1", "--port", port]
runpy.run_module("benchctl.load.engine", run_name="__main__", alter_sys=True)
