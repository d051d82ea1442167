"""What one ``make bench`` run is: its sizes, rates, time budget, cores, and its log line.

``BENCH_QUICK=1``: small N and short windows (a smoke run of the harness);
``BENCH_BUDGET_S``: the whole run's time budget (stages that no longer fit are skipped).
"""

import os
import sys
import time

from tests.helpers.topology import ROOT

QUICK = os.environ.get("BENCH_QUICK") == "1"
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "590"))
N_SMALL, N_LARGE = (200, 500) if QUICK else (1000, 5000)
N_POLL_REFERENCE = 100 if QUICK else 500  # polling below one core's capacity: the clean distribution
SPARE = 40  # extra payments for the warm-up (never measured)
FIXED_RATE = 25  # callbacks/s: "a fixed moderate rate" (performance-notes reference rate)
FIXED_SECONDS = 4 if QUICK else 8
RUNG_SECONDS = 2 if QUICK else 4
STACK_LADDER = [50, 75, 100, 150, 200, 300, 400]
FLOOR_LADDER = [200, 400, 800, 1600, 3200]
SERVER_FLOOR_LADDER = [300, 800, 1600]  # floor-daphne: the target rate, then the floor's own rungs
OAUTH_PAYMENTS = 100 if QUICK else 500
OAUTH_CAP_S = 60
CPU_SERVER, CPU_DRIVER = "0", "1"  # taskset cores on the 2-core box
RESULTS = ROOT / "bench" / "results"
# Seconds each configuration's stages may take (N small incl. the ladder, N large); a stage
# that does not fit in what is left of the budget is skipped and reported.
STACK_STAGE_ESTIMATES = {  # connect + idle + fixed window (the ladder has its own)
    "memory-1p": (30, 95),
    "redis-1p": (30, 75),
    "redis-2p": (30, 0),  # 1,000 sockets and the ladder; the 2-process 5,000 stage is redis-2p-spread's
    "redis-2p-spread": (30, 75),
    "uvicorn-redis-1p": (30, 0),  # uvicorn instead of Daphne: 1,000 sockets and the ladder
    "pubsub-1p": (30, 75),
    "pg-redis-1p": (30, 0),  # PostgreSQL rows: 1,000 sockets and the ladder only
    "pg-redis-2p-spread": (30, 0),
}
LADDER_ESTIMATE_S = 35


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()
