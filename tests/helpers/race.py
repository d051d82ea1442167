"""Races on purpose: ``run_parallel(n, work)`` runs ``work(i)`` on threads released together
by a barrier (each with its own database connection, closed after), bounded in time."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

MAX_SECONDS = 60


def run_parallel(n: int, work, *, workers: int = 16) -> list:
    barrier = threading.Barrier(min(n, workers))

    def task(i):
        try:
            if i < workers:
                barrier.wait(timeout=10)
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(task, i) for i in range(n)]
        return [f.result(timeout=MAX_SECONDS) for f in futures]
