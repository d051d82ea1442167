"""Our stack's rows: one or two servers on a fresh copy of the template database (or a
PostgreSQL copy), the load generator on its own core. Where the servers run no job runner (the
Redis topologies, as in production), a ``payments_worker`` runs beside them, on the server's
core, and its CPU is the server side's: it runs the jobs and checkpoints SQLite's write-ahead
log (``mpesa_plumbing.db.checkpoint_sqlite_logs``), which a request commit would otherwise do."""

from tests.helpers.topology import free_port

from .config import (
    CPU_DRIVER,
    CPU_SERVER,
    LADDER_ESTIMATE_S,
    N_LARGE,
    N_SMALL,
    STACK_LADDER,
    STACK_STAGE_ESTIMATES,
    log,
)
from .servers import STACK_RESET_SQL, BenchWorker, errors_in, pin, stack_env


def measure_stack(
    run,
    config: str,
    layer: str,
    processes: int,
    spread: bool = False,
    database: dict | None = None,
    server: str = "daphne",
) -> None:
    """``processes`` = 1: one Daphne on core 0. 2: callbacks go to process A (core 0),
    sockets live on process B (core 1); the driver and Redis then float on both cores.
    ``spread``: both processes take sockets and callbacks, as behind nginx (socket i on
    process i % 2, its callback on (i // 2) % 2: half the frames cross processes).
    ``database``: {"url", "fixtures", "session"} of a PostgreSQL copy (bench/postgres.py)
    instead of a copy of the SQLite template. ``server``: "daphne" or "uvicorn" (the same
    application under another ASGI server)."""
    db = database["url"] if database else run.fresh_db(config)
    small, large = STACK_STAGE_ESTIMATES[config]
    if not run.fits(config, small + LADDER_ESTIMATE_S):
        return
    if run.redis:
        run.redis.flush()
    ports = [free_port() for _ in range(processes)]
    cpus = [CPU_SERVER] if processes == 1 else ["0", "1"]
    webs = []
    for port, cpu in zip(ports, cpus, strict=True):
        env = stack_env(
            port=port,
            db=db,
            redis_url=run.redis.url if layer != "memory" else "",
            layer=layer,
            # `make run` (memory layer) runs the job runner in the web process; the Redis
            # topologies run it in a separate worker (below), as production does.
            PAYMENTS_RUN_JOBS_IN_PROCESS="true" if layer == "memory" else "false",
            database_url=database["url"] if database else None,
        )
        webs.append(run.web_server(f"{config}-{port}", env=env, port=port, cpus=cpu, server=server))
    worker = None
    if layer != "memory":  # the jobs, off the servers (the topology test's worker, production's poll)
        worker = run.start(BenchWorker(env=env, log_path=run.work / f"{config}-worker.log", poll=1.0))
        pin(worker.pid, CPU_SERVER)
    cb_web, sock_web = webs[0], webs[-1]
    redis_pid = run.redis.process.pid if (run.redis and layer != "memory") else None
    if run.redis:
        pin(run.redis.process.pid, CPU_DRIVER if processes == 1 else "0,1")
    if processes == 1:
        cpu_pids = {"callbacks": cb_web.pid}
    elif spread:
        cpu_pids = {"web-a": webs[0].pid, "web-b": webs[1].pid}
    else:
        cpu_pids = {"callbacks": cb_web.pid, "sockets": sock_web.pid}
    if worker is not None:
        cpu_pids["worker"] = worker.pid
    if redis_pid:
        cpu_pids["redis"] = redis_pid
    log(f"{config}: {server} pids {[w.pid for w in webs]}")
    stages = [(N_SMALL, True, small, 40)]
    if large:
        stages.append((N_LARGE, False, large, large - 15))
    spec = run.push_spec(
        label=config,
        stages=stages,
        fixtures=database["fixtures"] if database else run.fixtures,
        session=database["session"] if database else run.session_key,
        ws_port=sock_web.port,
        cb_port=cb_web.port,
        db=db,
        reset_sql=STACK_RESET_SQL,
        rss_pid=sock_web.pid,
        cpu_pids=cpu_pids,
        gc_logs=[w.gc_log for w in webs],
        ladder=STACK_LADDER,
        budget=(small + (large or 0) + LADDER_ESTIMATE_S) * 1.3,
        driver_cpus=CPU_DRIVER if processes == 1 else "0,1",
    )
    if spread:
        spec["ws_bases"] = [f"ws://127.0.0.1:{w.port}" for w in webs]
        spec["http_bases"] = [f"http://127.0.0.1:{w.port}" for w in webs]
        spec["rss_pid"] = [w.pid for w in webs]
    result = run.driver(spec, config)
    for stage in result.get("stages", []):
        stage["server_log_warnings"] = {str(w.port): errors_in(w.log()) for w in webs}
    if worker is not None and not worker.alive():  # its checkpoints then fell to the servers' commits
        result.setdefault("notes", []).append(f"the worker exited early: {worker.log()[-300:]}")
        log(f"{config}: the worker exited early")
    run.stop(*webs, *([worker] if worker else []))
    if run.redis:
        run.redis.flush()
    run.record(config, {"processes": processes, "layer": layer, "spread": spread, "server": server}, result)
