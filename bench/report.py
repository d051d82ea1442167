"""The printed tables (each figure beside its ratio to the floor or to polling), the target
lines, each window's verdict (``window_summary``)."""

from .procstat import summary_ms

P99_LIMIT_MS = 100.0


def window_summary(rate, count, achieved, latencies, answers, bad, cpu, gc) -> dict:
    """One window's figures; it passes with p99 < 100 ms, no frame lost, all answers 200, >= 95% rate."""
    lat = summary_ms(latencies)
    total_cpu = sum(v for v in cpu["cpu_s"].values() if v == v)
    server_cpu = sum(v for k, v in cpu["cpu_s"].items() if k != "redis" and v == v)
    result = {
        "rate": rate,
        "count": count,
        "achieved_rate": achieved,
        "lost": count - len(latencies),
        "bad_answers": bad,
        "latency": lat,
        "answer": summary_ms(answers),
        "cpu_s": cpu["cpu_s"],
        "system_cpu_s": cpu["system_cpu_s"],
        "window_s": cpu["wall_s"],
        "cpu_ms_per_callback": total_cpu * 1000 / max(1, count),
        "server_cpu_ms_per_callback": server_cpu * 1000 / max(1, count),
        "gc": gc,
    }
    why = []
    if result["lost"]:
        why.append("lost frames")
    if result["bad_answers"]:
        why.append("callback errors")
    if lat["p99_ms"] is None or lat["p99_ms"] >= P99_LIMIT_MS:
        why.append("p99")
    if achieved < 0.95 * rate:
        why.append("rate not reached by the driver")
    result["passed"], result["why"] = not why, why
    return result


def _f(value, fmt: str = "{:.1f}", none: str = "-") -> str:
    if value is None:
        return none
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def _ratio(ours, floor, fmt: str = "{:.1f}x") -> str:
    if ours is None or floor in (None, 0):
        return "-"
    return fmt.format(ours / floor)


def _get(d: dict | None, *path):
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def brief(result: dict) -> str:
    if "error" in result:
        return "ERROR " + result["error"][:300]
    parts = []
    c = result.get("connect") or {}
    if c:
        parts.append(
            f"connect +{c.get('opened')}/{c.get('added')} in {_f(c.get('wall_s'), '{:.2f}')}s "
            f"({_f(c.get('per_socket_ms'), '{:.1f}')} ms/socket, {c.get('open_total')} open)"
        )
    i = result.get("idle") or {}
    if i:
        parts.append(f"{_f(i.get('rss_per_socket_kb'))} KB/socket")
    f = result.get("fixed") or {}
    if f:
        lat = f["latency"]
        parts.append(
            f"@{f['rate']}/s p50 {_f(lat['p50_ms'])} p99 {_f(lat['p99_ms'])} max {_f(lat['max_ms'])} ms, "
            f"lost {f['lost']}, {_f(f['server_cpu_ms_per_callback'], '{:.2f}')} ms CPU/cb"
        )
    lad = result.get("ladder") or {}
    if lad:
        parts.append(f"max rate {lad.get('max_rate_p99_under_100ms')}/s")
    if result.get("notes"):
        parts.append("notes: " + "; ".join(result["notes"]))
    return ", ".join(parts)


def _floor_for(results: dict, n: int) -> dict:
    for row in results["push"]:
        if row.get("config") == "floor" and row.get("n") == n and "error" not in row:
            return row
    return {}


def _ladder_text(row: dict) -> str:
    lad = row.get("ladder")
    if not lad:
        return "-"
    best = lad.get("max_rate_p99_under_100ms")
    rungs = lad.get("rungs") or []
    last = rungs[-1] if rungs else {}
    text = (
        f">={best}" if best else "<" + str((row.get("ladder") or {}).get("rungs", [{}])[0].get("rate", "?"))
    )
    if best is not None and best == lad.get("top_rung"):
        text += " (top rung)"
    elif last and not last.get("passed") and "rate not reached by the driver" in last.get("why", []):
        text += " (driver-bound)"
    return text


def _idle_cpu(idle: dict) -> str:
    value = idle.get("idle_cpu_us_per_socket_s")
    if value is None:
        return "-"
    if value == 0:
        return f"<{idle.get('idle_cpu_resolution_us_per_socket_s', 0):.2f}"
    return f"{value:.2f}"


def push_table(results: dict) -> list[str]:
    lines = [
        "PUSH: callback POST -> WebSocket frame (same clock, separate load-generator process)",
        f"  fixed rate {results['params']['fixed_rate']}/s for {results['params']['fixed_seconds']} s; "
        "ratios are to the floor at the same N, same run",
        "",
        "  connect N s = wall time to open N sockets, 100 handshakes in flight (N=%d: %d more added to the %d"
        " already open, times summed)"
        % (
            results["params"]["n"][1],
            results["params"]["n"][1] - results["params"]["n"][0],
            results["params"]["n"][0],
        ),
        "  KB/idle socket = (RSS with N idle sockets - RSS before the first) / N; idle CPU = socket server's CPU with no"
        " traffic (schedstat), per socket",
        "  order per process: 1,000 sockets -> idle -> fixed -> ladder -> +4,000 -> idle -> fixed",
        "",
        "  config       N    | connect N s (xfloor) | KB/idle socket (xfloor) | idle CPU us/sock/s "
        "| p50 / p95 / p99 ms (p99 xfloor) | max ms | max GC ms | CPU ms/callback (xfloor) [+redis] "
        "| max cb/s p99<100 (floor/ours)",
    ]
    for row in results["push"]:
        cfg, n = row.get("config"), row.get("n")
        if "error" in row:
            lines.append(f"  {cfg!s:<12} {n!s:<5}| ERROR: {row['error'][:200]}")
            continue
        floor = _floor_for(results, n)
        con, idle, fx = row.get("connect") or {}, row.get("idle") or {}, row.get("fixed") or {}
        lat = fx.get("latency") or {}
        fcon, fidle, ffx = floor.get("connect") or {}, floor.get("idle") or {}, floor.get("fixed") or {}
        flat = ffx.get("latency") or {}
        connect = f"{_f(con.get('cumulative_wall_s'), '{:.1f}')} ({_ratio(con.get('cumulative_wall_s'), fcon.get('cumulative_wall_s'))})"
        if con and con.get("open_total") != n:
            connect += f" ONLY {con.get('open_total')} open"
        mem = f"{_f(idle.get('rss_per_socket_kb'))} ({_ratio(idle.get('rss_per_socket_kb'), fidle.get('rss_per_socket_kb'))})"
        idle_cpu = _idle_cpu(idle)
        lats = (
            f"{_f(lat.get('p50_ms'))} / {_f(lat.get('p95_ms'))} / {_f(lat.get('p99_ms'))} "
            f"({_ratio(lat.get('p99_ms'), flat.get('p99_ms'))})"
        )
        if fx.get("lost"):
            lats += f" lost {fx['lost']}"
        cpu = fx.get("server_cpu_ms_per_callback")
        redis_cpu = _get(fx, "cpu_s", "redis")
        cpu_text = f"{_f(cpu, '{:.2f}')} ({_ratio(cpu, ffx.get('server_cpu_ms_per_callback'))})"
        if redis_cpu is not None and fx.get("count"):
            cpu_text += f" [+{redis_cpu * 1000 / fx['count']:.2f}]"
        best = _get(row, "ladder", "max_rate_p99_under_100ms")
        fbest = _get(floor, "ladder", "max_rate_p99_under_100ms")
        ladder = _ladder_text(row)
        if row.get("ladder") and not cfg.startswith("floor"):
            ladder += f" ({_ratio(fbest, best)})"
        lines.append(
            f"  {cfg:<12} {n:<5}| {connect:<20} | {mem:<23} | {idle_cpu:<18} | {lats:<31} "
            f"| {_f(lat.get('max_ms')):<6} | {_f(_get(fx, 'gc', 'max_ms')):<9} | {cpu_text:<33} | {ladder}"
        )
    ladder_rows = [r for r in results["push"] if r.get("ladder")]
    if ladder_rows:
        lines += [
            "",
            "  Rate ladder (N = %d sockets; p50 / p99 ms at each rung; * = passed; first rung = the fixed window; one retry"
            " when p99 < 250 ms and nothing lost)" % results["params"]["n"][0],
        ]
        for row in ladder_rows:
            cells = []
            for rung in row["ladder"]["rungs"]:
                lat = rung["latency"]
                mark = "*" if rung["passed"] else "x"
                cells.append(
                    f"{rung['rate']}/s {_f(lat['p50_ms'])}/{_f(lat['p99_ms'])}{mark}"
                    + ("" if rung["passed"] else f"({','.join(rung.get('why', []))})")
                )
            lines.append(f"  {row['config']:<12} " + "  ".join(cells))
    return lines


def _push_for(results: dict, config: str, n: int) -> dict:
    for row in results["push"]:
        if row.get("config") == config and row.get("n") == n and "error" not in row:
            return row
    return {}


def _secs(value) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else f"{value:.2f}"


def polling_table(results: dict) -> list[str]:
    rows = [r for r in results.get("polling", []) if "poll" in r]
    if not results.get("polling"):
        return ["POLLING: not measured (skipped)"]
    ref = min(rows, key=lambda r: r["poll"]["customers"])["poll"] if rows else None
    lines = [
        "POLLING baseline, as the seeds do it: GET /payments/<id>/ every 5 s (session auth), give up after 60 s;",
        "  one Daphne (redis-1p) on one core, 200 client connections; notify = callback POST sent -> first poll answer",
        '  showing paid (">x" = not seen when the window closed, x s after its callback). Push figures: redis-1p at',
        "  the same N (N=%d: the N=%d push row). CPU per waiting customer: polling = CPU per status GET at the"
        % (ref["customers"] if ref else 0, results["params"]["n"][0]),
        "  unsaturated reference N / 5 s; push = idle socket CPU (schedstat).",
        "",
        "  N     | offered/served req/s | server cores | CPU ms/GET | GET answer p50/p99 ms | notify p50 / p95 / p99 s "
        "(seen)    | push p50 / p99 ms | notify x push (p50, p99) | CPU us per waiting customer/s: poll vs push (x)",
    ]
    for row in results["polling"]:
        if "error" in row:
            lines.append(f"  {row.get('n')} ERROR {row['error'][:200]}")
            continue
        p = row["poll"]
        n = p["customers"]
        push = _push_for(results, "redis-1p", n) or _push_for(results, "redis-1p", results["params"]["n"][0])
        plat = _get(push, "fixed", "latency") or {}
        allv = p.get("notification_all_s") or {}
        notify = f"{_secs(allv.get('p50'))} / {_secs(allv.get('p95'))} / {_secs(allv.get('p99'))} ({p['notified']}/{p['callbacks_sent']})"
        lat_ratio = "-"
        if plat.get("p50_ms"):
            parts = []
            for key, push_ms in (("p50", plat.get("p50_ms")), ("p99", plat.get("p99_ms"))):
                v = allv.get(key)
                parts.append(
                    f">{float(v[1:]) * 1000 / push_ms:.0f}x"
                    if isinstance(v, str)
                    else (f"{v * 1000 / push_ms:.0f}x" if v else "-")
                )
            lat_ratio = ", ".join(parts)
        poll_cpu = ref["cpu_ms_per_request"] * 1000 / p["interval_s"] if ref else None
        push_cpu = _get(push, "idle", "idle_cpu_us_per_socket_s")
        cpu_ratio = _ratio(poll_cpu, push_cpu, "{:.0f}x") if push_cpu else "-"
        lines.append(
            f"  {n:<5} | {p['offered_req_per_s']:>5.0f} / {p['served_req_per_s']:<12.0f} | {p['server_cpu_cores']:<12.2f} "
            f"| {p['cpu_ms_per_request']:<10.2f} | {_f(p['answer']['p50_ms'], '{:.0f}')} / {_f(p['answer']['p99_ms'], '{:.0f}'):<15} "
            f"| {notify:<32} | {_f(plat.get('p50_ms'))} / {_f(plat.get('p99_ms')):<9} | {lat_ratio:<24} "
            f"| {_f(poll_cpu, '{:.0f}')} vs {_f(push_cpu, '{:.2f}')} ({cpu_ratio})"
        )
    return lines


def oauth_lines(results: dict) -> list[str]:
    o = results.get("oauth")
    if not o:
        return ["UPSTREAM: not measured (skipped)"]
    return [
        "UPSTREAM calls (simulator as Daraja; 2 Daphne processes + Redis cache; POST /payments/initiate/, 16 in flight)",
        f"  payments started {o['payments_started']}/{o['attempted']} in {o['wall_s']:.1f} s "
        f"({_f(o['initiations_per_s'])}/s); answers {o['statuses']}",
        f"  OAuth token requests: {o['token_requests']} -> {_f(o['token_requests_per_1000_payments'], '{:.2f}')} per 1,000 payments "
        f"(seeds: 1,000 per 1,000; ratio ours/seeds = {_f(o['token_requests_per_1000_payments'] and o['token_requests_per_1000_payments'] / 1000, '{:.4f}')})",
    ]


def targets(results: dict) -> list[str]:
    lines = ["TARGETS (reported, never asserted)"]
    n1, n5 = results["params"]["n"]
    floor1 = _floor_for(results, n1)
    fp99 = _get(floor1, "fixed", "latency", "p99_ms")
    stack_rows = [r for r in results["push"] if not r["config"].startswith("floor") and "error" not in r]
    for row in [r for r in stack_rows if r["n"] == n1]:
        p99 = _get(row, "fixed", "latency", "p99_ms")
        if p99 and fp99:
            ratio = p99 / fp99
            lines.append(
                f"  push p99 <= 5x floor at {n1} [{row['config']}]: {p99:.1f} ms vs floor {fp99:.2f} ms = {ratio:.1f}x "
                f"-> {ratio / 5:.2f} of the allowance ({'met' if ratio <= 5 else 'NOT met'})"
            )
    for row in [r for r in stack_rows if r["n"] == n5]:
        p99 = _get(row, "fixed", "latency", "p99_ms")
        lost = _get(row, "fixed", "lost")
        if p99 is not None:
            lines.append(
                f"  p99 < 100 ms with {n5} sockets [{row['config']}]: {p99:.1f} ms = {p99 / 100:.2f} of the limit"
                f"{f', {lost} frames lost' if lost else ''} ({'met' if p99 < 100 and not lost else 'NOT met'})"
            )
        elif row.get("connect"):
            lines.append(
                f"  p99 < 100 ms with {n5} sockets [{row['config']}]: not measured ({row.get('notes')})"
            )
    best = [
        (r["config"], _get(r, "ladder", "max_rate_p99_under_100ms")) for r in stack_rows if r.get("ladder")
    ]
    if best:
        config, rate = max(best, key=lambda b: b[1] or 0)
        rate = rate or 0
        lines.append(
            f"  >= 300 callbacks/s with p99 < 100 ms on 2 cores: best {rate}/s [{config}] = {rate / 300:.2f} of the target "
            f"({'met' if rate >= 300 else 'NOT met'}); all: " + ", ".join(f"{c} {r}" for c, r in best)
        )
    for n in (n1, n5):
        fkb = _get(_floor_for(results, n), "idle", "rss_per_socket_kb")
        for row in [r for r in stack_rows if r["n"] == n]:
            kb = _get(row, "idle", "rss_per_socket_kb")
            if kb is not None and fkb:
                lines.append(
                    f"  idle socket memory <= 2x floor at {n} [{row['config']}]: {kb:.1f} KB vs {fkb:.1f} KB = {kb / fkb:.1f}x "
                    f"({'met' if kb <= 2 * fkb else 'NOT met'})"
                )
    o = results.get("oauth")
    if o and o.get("token_requests") is not None:
        lines.append(
            f"  one OAuth request per token lifetime ({o['processes']} processes, {o['payments_started']} payments): "
            f"{o['token_requests']} request(s) ({'met' if o['token_requests'] == 1 else 'NOT met'})"
        )
    return lines


def render(results: dict) -> str:
    out = [
        "=" * 100,
        f"make bench — {results['started_at']}  ({results['machine']['cpus']} CPUs, Python {results['machine']['python']}"
        f"{', QUICK' if results.get('quick') else ''}); wall {results.get('wall_s', 0):.0f} s",
        "=" * 100,
        *push_table(results),
        "",
        *polling_table(results),
        "",
        *oauth_lines(results),
        "",
        *targets(results),
    ]
    notes = []
    for row in results["push"] + results.get("polling", []):
        for note in row.get("notes") or []:
            notes.append(f"  {row.get('config')} N={row.get('n')}: {note}")
    if results.get("skipped") or notes:
        out += ["", "SKIPPED / SHORTENED"] + [f"  {s}" for s in results.get("skipped", [])] + notes
    return "\n".join(out)


MARKDOWN_LABELS = {
    "floor": "floor (no Django)",
    "floor-daphne": "the floor's job under Daphne (bare ASGI, no Django)",
    "memory-1p": "in-memory layer, 1 process (`make run`)",
    "redis-1p": "Redis layer, 1 process",
    "redis-2p": "Redis, callbacks on A, sockets on B",
    "redis-2p-spread": "Redis, 2 processes behind a balancer",
    "uvicorn-redis-1p": "Redis layer, 1 process, **uvicorn** instead of Daphne",
    "pg-redis-1p": "PostgreSQL + Redis, 1 process",
    "pg-redis-2p-spread": "PostgreSQL + Redis, 2 processes behind a balancer",
    "pubsub-1p": "Redis pub/sub layer, 1 process",
}


def markdown(results: dict) -> str:
    """The README's table: ``python -m bench.report [bench/results/latest.json]``."""
    head = (
        "| Callback → WebSocket frame, {rate} callbacks/s | open sockets | p50 / p99 ms | p99 × floor "
        "| CPU ms / callback | KB / idle socket | connect ms / socket | max callbacks/s, p99 < 100 ms |"
    ).format(rate=results["params"]["fixed_rate"])
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    rows = [r for r in results["push"] if "error" not in r and r.get("n")]
    for n in sorted({r["n"] for r in rows}):
        floor_p99 = _get(_floor_for(results, n), "fixed", "latency", "p99_ms")
        for row in (r for r in rows if r["n"] == n):
            lat = _get(row, "fixed", "latency") or {}
            best = _get(row, "ladder", "max_rate_p99_under_100ms")
            top = best is not None and best == _get(row, "ladder", "top_rung")
            lines.append(
                f"| {MARKDOWN_LABELS.get(row['config'], row['config'])} | {n:,} "
                f"| {_f(lat.get('p50_ms'))} / {_f(lat.get('p99_ms'))} "
                f"| {_ratio(lat.get('p99_ms'), floor_p99, '{:.1f}×')} "
                f"| {_f(_get(row, 'fixed', 'server_cpu_ms_per_callback'))} "
                f"| {_f(_get(row, 'idle', 'rss_per_socket_kb'))} "
                f"| {_f(_get(row, 'connect', 'per_socket_ms'))} "
                f"| {'' if not row.get('ladder') else ('≥ ' if top else '') + _f(best, '{:,}', '< first rung')} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys

    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json"
    with open(path) as f:
        sys.stdout.write(markdown(json.load(f)) + "\n")
