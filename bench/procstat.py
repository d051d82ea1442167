"""Small readers of /proc and of the figures the bench prints (no dependencies)."""

import math
import os
import resource
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of one process, all threads (clock-tick resolution)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan"), float("nan")
    return int(rest[11]) / CLK_TCK, int(rest[12]) / CLK_TCK


def thread_cpu_ns(pid: int | list[int]) -> int | None:
    """CPU time of the threads alive now, in ns (/proc/<pid>/task/*/schedstat). Threads that
    exited are not counted: use only over windows in which no thread starts or ends."""
    if isinstance(pid, list):
        parts = [thread_cpu_ns(p) for p in pid]
        return None if None in parts else sum(parts)
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError, PermissionError):
        return None


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds."""
    return sum(cpu_times(pid))


def rss_bytes(pid: int | list[int]) -> int:
    if isinstance(pid, list):
        return sum(rss_bytes(p) for p in pid)
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class CpuMeter:
    """CPU seconds used by a set of processes between start() and stop()."""

    def __init__(self, pids: dict[str, int]):
        self.pids = {k: v for k, v in pids.items() if v}

    def start(self) -> "CpuMeter":
        self.t0 = time.perf_counter()
        self.c0 = {k: cpu_times(p) for k, p in self.pids.items()}
        return self

    def stop(self) -> dict:
        wall = time.perf_counter() - self.t0
        now = {k: cpu_times(p) for k, p in self.pids.items()}
        used = {k: sum(now[k]) - sum(self.c0[k]) for k in self.pids}
        system = {k: now[k][1] - self.c0[k][1] for k in self.pids}
        return {"wall_s": wall, "cpu_s": used, "system_cpu_s": system}


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "mean_ms": sum(ms) / len(ms) if ms else None,
    }


def gc_pauses(paths: list[str], since: float, until: float) -> dict:
    """Collections >= 5 ms logged by bench.serve between two wall-clock times."""
    pauses = []
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    ts, gen, ms, _ = line.split()
                    if since <= float(ts) <= until:
                        pauses.append((int(gen), float(ms)))
        except FileNotFoundError:
            continue
    return {
        "count": len(pauses),
        "gen2": sum(1 for g, _ in pauses if g == 2),
        "max_ms": max((ms for _, ms in pauses), default=0.0),
    }


def raise_nofile() -> int:
    """Lift the soft open-files limit to the hard one (thousands of sockets); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
