"""The ASGI server as ``python -m daphne`` (or ``python -m uvicorn``) runs it, plus a
garbage-collector pause log.

``BENCH_GC_LOG=<path>``: every collection that takes >= 5 ms is appended as
``<unix time at end> <generation> <ms> <objects collected>`` (``BENCH_GC_MIN_MS`` changes
the 5 ms floor). A ``gc.callbacks`` hook costs
two clock reads per collection; it changes nothing else in the server.
"""

import gc
import os
import sys
import time

_LOG = os.environ.get("BENCH_GC_LOG")
_MIN_MS = float(os.environ.get("BENCH_GC_MIN_MS", "5"))


def _install(path: str) -> None:
    out = open(path, "a", buffering=1)  # noqa: SIM115 (lives as long as the process)
    started = [0.0]

    def hook(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        if ms >= _MIN_MS:
            out.write(f"{time.time():.4f} {info['generation']} {ms:.1f} {info['collected']}\n")

    gc.callbacks.append(hook)


if _LOG:
    _install(_LOG)


# ``python -m bench.serve daphne <daphne's arguments>`` or ``… uvicorn <uvicorn's arguments>``
_SERVER = sys.argv.pop(1)
if _SERVER == "uvicorn":
    from uvicorn.main import main

    main(prog_name="uvicorn")
else:
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()
