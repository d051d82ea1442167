"""The floor's job as a bare ASGI application, for the ``floor-daphne`` row: what Daphne itself
costs. The same work as ``bench.floor`` (session cookie lookup, one SELECT for the snapshot,
one conditional UPDATE per callback, the frame to the subscribed socket), in Daphne's one
event loop, with no Django, no Channels, no threads: the difference between this row and the
floor is the server's own, and between this row and ours is the application's.

    FLOOR_DB=/tmp/floor.sqlite3 python -m daphne -p 8003 bench.floor_asgi:application
"""

import json
import os

from .floor import Floor


async def _body(receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send, status: int, payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class FloorApplication:
    """``Floor``'s handlers spoken in ASGI (one instance per server process)."""

    def __init__(self):
        self.floor: Floor | None = None

    async def __call__(self, scope, receive, send) -> None:
        if self.floor is None:
            self.floor = Floor(os.environ["FLOOR_DB"])
        if scope["type"] == "websocket":
            await self.socket(scope, receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)

    async def socket(self, scope, receive, send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
        code, snapshot = self.floor.join(scope["path"], cookie, send)
        if code is not None:
            await send({"type": "websocket.close", "code": code})
            return
        try:
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": snapshot})
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            self.floor.leave(scope["path"], send)

    async def http(self, scope, receive, send) -> None:
        body = await _body(receive)
        if body is None:
            return
        path = scope["path"]
        if path == "/healthz":
            return await _answer(send, 200, b'{"ok": true}')
        parts = path.strip("/").split("/")  # payments/callbacks/<hex>/<token>
        if scope["method"] != "POST" or len(parts) != 4 or parts[:2] != ["payments", "callbacks"]:
            return await _answer(send, 404, b'{"error": "Not found."}')
        status, answer, frame = self.floor.settle(parts[2], body)
        if frame is not None:
            for socket_send in list(self.floor.subscribers.get(parts[2], ())):
                try:
                    await socket_send({"type": "websocket.send", "text": frame})
                except Exception:  # noqa: BLE001 - a closed socket is not our problem here
                    pass
        return await _answer(send, status, json.dumps(answer).encode())


application = FloorApplication()
