"""The floor: the same job as our stack with no Django, in ONE process and one event loop.

- ``websockets`` server: ``/ws/payments/<public_id>/``; checks the session cookie (one dict
  lookup), reads the payment (one SELECT), subscribes the socket, sends the snapshot frame;
- aiohttp server: ``POST /payments/callbacks/<hex>/<token>/`` parses the callback JSON,
  runs one conditional ``UPDATE … WHERE public_id=? AND status='pending'`` on SQLite (WAL,
  synchronous=NORMAL, autocommit: one transaction) and, if it changed the row, sends the
  frame to the subscribed socket(s); ``GET /payments/<public_id>/`` answers the status;
  ``GET /healthz``.

No raw record, no ledger, no auth framework, no channel layer: the hardware limit of "a
callback arrives, a frame leaves" on this machine, measured in the same run as our stack.

    python -m bench.floor --db /tmp/floor.sqlite3 --seed 5000 --http-port 8001 --ws-port 8002
"""

import argparse
import asyncio
import json
import signal
import sqlite3
import uuid

from aiohttp import web
from websockets.asyncio.server import serve

SCHEMA = """
CREATE TABLE IF NOT EXISTS payment (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    checkout_request_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    receipt TEXT
);
CREATE TABLE IF NOT EXISTS session (key TEXT PRIMARY KEY, user_id INTEGER NOT NULL);
"""
RESET_SQL = "UPDATE payment SET status='pending', version=2, receipt=NULL WHERE status != 'pending'"


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    return db


def seed(path: str, n: int) -> dict:
    """Create the floor's database and the same fixtures shape as bench.seed."""
    db = connect(path)
    db.executescript(SCHEMA)
    session_key = uuid.uuid4().hex
    db.execute("INSERT INTO session VALUES (?, 1)", (session_key,))
    payments = []
    db.execute("BEGIN")
    for i in range(n):
        public_id = uuid.uuid4()
        checkout = f"ws_CO_bench{i:08d}"
        db.execute(
            "INSERT INTO payment (id, public_id, checkout_request_id, status, version, amount) "
            "VALUES (?, ?, ?, 'pending', 2, 10)",
            (i + 1, public_id.hex, checkout),
        )
        body = {
            "Body": {
                "stkCallback": {
                    "MerchantRequestID": "5220-40e9-bb16-c78ea820338d11816350",
                    "CheckoutRequestID": checkout,
                    "ResultCode": 0,
                    "ResultDesc": "The service request is processed successfully.",
                    "CallbackMetadata": {
                        "Item": [
                            {"Name": "Amount", "Value": 10},
                            {"Name": "MpesaReceiptNumber", "Value": f"SKN{i + 1:07d}"},
                            {"Name": "Balance"},
                            {"Name": "TransactionDate", "Value": 20261123120105},
                            {"Name": "PhoneNumber", "Value": int(f"2547{i:08d}")},
                        ]
                    },
                }
            }
        }
        payments.append(
            {
                "pk": i + 1,
                "public_id": str(public_id),
                "callback_path": f"/payments/callbacks/{public_id.hex}/{'0' * 32}/",
                "body": json.dumps(body),
            }
        )
    db.execute("COMMIT")
    db.close()
    return {"session_key": session_key, "payments": payments}


class Floor:
    def __init__(self, db_path: str):
        self.db = connect(db_path)
        self.sessions = {k for (k,) in self.db.execute("SELECT key FROM session")}
        self.subscribers: dict[str, set] = {}

    def payload(self, public_hex: str) -> dict | None:
        row = self.db.execute(
            "SELECT status, version, amount, receipt FROM payment WHERE public_id = ?", (public_hex,)
        ).fetchone()
        if row is None:
            return None
        status, version, amount, receipt = row
        return {
            "public_id": str(uuid.UUID(hex=public_hex)),
            "status": status,
            "terminal": status != "pending",
            "amount": amount,
            "receipt": receipt,
            "version": version,
        }

    def _session_ok(self, cookie: str | None) -> bool:
        for part in (cookie or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "sessionid" and value in self.sessions:
                return True
        return False

    # --- WebSocket --------------------------------------------------------------------
    def join(self, path: str, cookie: str | None, socket) -> tuple[int | None, str | None]:
        """A socket's handshake, for either server: (close code, None) when refused, else
        (None, the snapshot frame) with ``socket`` subscribed first (no gap); ``leave`` undoes."""
        parts = path.strip("/").split("/")  # ws/payments/<uuid>
        if len(parts) != 3 or not self._session_ok(cookie):
            return 4003, None
        try:
            public_hex = uuid.UUID(parts[2]).hex
        except ValueError:
            return 4004, None
        self.subscribers.setdefault(public_hex, set()).add(socket)
        snapshot = self.payload(public_hex)
        if snapshot is None:
            self.leave(path, socket)
            return 4004, None
        return None, json.dumps({"type": "payment.status", "payment": snapshot, "snapshot": True})

    def leave(self, path: str, socket) -> None:
        public_hex = uuid.UUID(path.strip("/").split("/")[2]).hex
        subs = self.subscribers.get(public_hex, set())
        subs.discard(socket)
        if not subs:
            self.subscribers.pop(public_hex, None)

    async def ws_handler(self, ws) -> None:
        code, snapshot = self.join(ws.request.path, ws.request.headers.get("Cookie"), ws)
        if code is not None:
            await ws.close(code)
            return
        try:
            await ws.send(snapshot)
            async for _ in ws:  # ping/resync are not needed by the bench
                pass
        finally:
            self.leave(ws.request.path, ws)

    # --- HTTP -------------------------------------------------------------------------
    def settle(self, public_hex: str, body: bytes) -> tuple[int, dict, str | None]:
        """A callback's whole job, for either server: (HTTP status, answer, the frame for the
        subscribed sockets or None)."""
        try:
            cb = json.loads(body)["Body"]["stkCallback"]
            checkout, code = cb["CheckoutRequestID"], int(cb["ResultCode"])
        except (ValueError, KeyError, TypeError):
            return 400, {"ResultCode": 1, "ResultDesc": "Rejected"}, None
        receipt = None
        for item in (cb.get("CallbackMetadata") or {}).get("Item", []):
            if item.get("Name") == "MpesaReceiptNumber":
                receipt = item.get("Value")
        changed = self.db.execute(
            "UPDATE payment SET status = ?, version = version + 1, receipt = ? "
            "WHERE public_id = ? AND checkout_request_id = ? AND status = 'pending'",
            ("paid" if code == 0 else "failed", receipt, public_hex, checkout),
        ).rowcount
        frame = None
        if changed and self.subscribers.get(public_hex):
            frame = json.dumps({"type": "payment.status", "payment": self.payload(public_hex)})
        return 200, {"ResultCode": 0, "ResultDesc": "Accepted"}, frame

    async def callback(self, request: web.Request) -> web.Response:
        public_hex = request.match_info["hex"]
        status, answer, frame = self.settle(public_hex, await request.read())
        if frame is not None:
            for ws in list(self.subscribers.get(public_hex, ())):
                try:
                    await ws.send(frame)
                except Exception:  # noqa: BLE001 - a closed socket is not our problem here
                    pass
        return web.json_response(answer, status=status)

    async def status(self, request: web.Request) -> web.Response:
        if not self._session_ok(request.headers.get("Cookie")):
            return web.json_response({"error": "Not found."}, status=404)
        try:
            public_hex = uuid.UUID(request.match_info["public_id"]).hex
        except ValueError:
            return web.json_response({"error": "Not found."}, status=404)
        payload = self.payload(public_hex)
        if payload is None:
            return web.json_response({"error": "Not found."}, status=404)
        return web.json_response({"payment": payload})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})


async def serve_forever(db_path: str, http_port: int, ws_port: int) -> None:
    floor = Floor(db_path)
    app = web.Application()
    app.router.add_post("/payments/callbacks/{hex}/{token}/", floor.callback)
    app.router.add_get("/payments/{public_id}/", floor.status)
    app.router.add_get("/healthz", floor.healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port, backlog=2048).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(floor.ws_handler, "127.0.0.1", ws_port, compression=None, backlog=2048, max_size=4096):
        await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--ws-port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve_forever(args.db, args.http_port, args.ws_port))


if __name__ == "__main__":
    main()
