"""The live ``/simulator/`` index: ``ws/simulator/pushes/`` and the group that feeds it.

Producers call ``announce(push_id)`` where a push is accepted (``api/behaviour.push_accept``),
decided (``outcomes/scheduler.decide``: its deliveries are scheduled) and where a delivery
attempt ends (``delivery._finish``). The announcement leaves after the transaction commits and
carries only the id; every open index page then re-reads that push and gets its whole row,
rendered by the same template as the page, so a frame always shows the committed state and
the order frames arrive in does not matter. Announcements that arrive together are read in
one query (a burst of callbacks is a handful of reads, not one per callback).

C2B payments are announced the same way (``announce_c2b``) and arrive as ``c2b_rows``.

Frames in: ``{"type": "resync", "after": <newest id shown>, "ids": [<ids shown>]}`` (plus
``"c2b_after"``/``"c2b_ids"`` for the C2B table, answered by a second frame; sent on
every (re)connect and every 30 s: the channel layer is best effort, so a lost announcement only
delays a row) and ``{"type": "ping"}``. Frames out: ``{"type": "rows", "rows": [{"id",
"html"}], "total": <pushes>}``, ``c2b_rows`` (same layout), ``pong`` and ``error``. No login
(a development tool); the project's Origin check applies.
"""

import asyncio
import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

from mpesa_plumbing.db import in_db
from mpesa_plumbing.jsonbody import JsonError, loads
from mpesa_plumbing.sockets import BridgedJsonConsumer

from .c2b_selectors import C2B_PER_PAGE, c2b_by_id, c2b_row
from .models import SimC2BPayment, SimPush
from .selectors import PER_PAGE, push_row, pushes_by_id

logger = logging.getLogger("simulator.index")
INDEX_GROUP = "sim.index"
EVENT_TYPE = "index.push"  # → IndexConsumer.index_push
C2B_EVENT_TYPE = "index.c2b"  # → IndexConsumer.index_c2b
MAX_FRAME = 2048
MAX_IDS = 2 * PER_PAGE
CLOSE_POLICY = 4008
COALESCE_SECONDS = 0.1


def announce(push_id: int) -> None:
    """Tell open index pages that this push changed, once the transaction commits (at once
    outside one). Never raises: the database is the truth and pages resync."""
    transaction.on_commit(partial(_send, {"type": EVENT_TYPE, "push": push_id}))


def announce_c2b(payment_id: int) -> None:
    """The same for a C2B payment (its row in the index's C2B table)."""
    transaction.on_commit(partial(_send, {"type": C2B_EVENT_TYPE, "payment": payment_id}))


def _send(event: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(INDEX_GROUP, event)
    except Exception as exc:  # a notification path, not the source of truth
        logger.warning("index notify failed: %r", exc, extra={"event": "simulator.index.notify"})


def render_rows(ids: set[int], *, after: int | None = None) -> dict[str, Any]:
    """The ``rows`` frame: these pushes, plus the newest ones above ``after`` (page 1)."""
    wanted = set(ids)
    if after is not None:
        wanted |= set(
            SimPush.objects.filter(pk__gt=after).order_by("-pk").values_list("pk", flat=True)[:PER_PAGE]
        )
    rows = [
        {"id": push.pk, "html": render_to_string("simulator/_push_row.html", {"row": push_row(push)})}
        for push in pushes_by_id(wanted)
    ]
    return {"type": "rows", "rows": rows, "total": SimPush.objects.count()}


def render_c2b_rows(ids: set[int], *, after: int | None = None) -> dict[str, Any]:
    """The ``c2b_rows`` frame: these C2B payments, plus the newest above ``after``."""
    wanted = set(ids)
    if after is not None:
        newer = SimC2BPayment.objects.filter(pk__gt=after).order_by("-pk").values_list("pk", flat=True)
        wanted |= set(newer[:C2B_PER_PAGE])
    rows = [
        {"id": p.pk, "html": render_to_string("simulator/_c2b_row.html", {"row": c2b_row(p)})}
        for p in c2b_by_id(wanted)
    ]
    return {"type": "c2b_rows", "rows": rows, "total": SimC2BPayment.objects.count()}


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _ids(value: Any) -> set[int] | None:
    """The ids a page shows (at most two pages' worth), or None when that is not what came."""
    if isinstance(value, list) and len(value) <= MAX_IDS and all(_is_id(i) for i in value):
        return set(value)
    return None


class IndexConsumer(BridgedJsonConsumer):
    joined = False

    async def connect(self):
        self.pending: set[int] = set()
        self.pending_c2b: set[int] = set()
        self.flush_task: asyncio.Task | None = None
        try:
            await self.channel_layer.group_add(INDEX_GROUP, self.channel_name)
        except Exception as exc:
            logger.warning("channel layer unavailable: %r", exc, extra={"event": "simulator.index.layer"})
            return await self.close()
        self.joined = True
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if bytes_data is not None or text_data is None or len(text_data) > MAX_FRAME:
            return await self.close(code=CLOSE_POLICY)
        try:
            content = loads(text_data, max_depth=3)
        except JsonError:
            return await self.close(code=CLOSE_POLICY)
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            return await self.send_json({"type": "pong"})
        if kind != "resync":
            return await self.send_json({"type": "error", "error": "Send ping or resync."})
        ids = _ids(content.get("ids", []))
        after = content.get("after")
        if ids is None or not (after is None or _is_id(after)):
            return await self.send_json(
                {"type": "error", "error": f"ids: up to {MAX_IDS} push ids; after: a push id or 0."}
            )
        await self.send_json(await in_db(render_rows, ids, after=after))
        if "c2b_after" in content:  # pages that show the C2B table ask for its rows too
            c2b_ids, c2b_after = _ids(content.get("c2b_ids", [])), content["c2b_after"]
            if c2b_ids is None or not _is_id(c2b_after):
                return await self.send_json({"type": "error", "error": "c2b_ids, c2b_after: payment ids."})
            await self.send_json(await in_db(render_c2b_rows, c2b_ids, after=c2b_after))

    async def index_c2b(self, event):
        """A C2B payment changed: gathered and sent like pushes, in a ``c2b_rows`` frame."""
        self.pending_c2b.add(int(event["payment"]))
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.create_task(self._flush())

    async def index_push(self, event):
        """A push changed: gather what arrives together, then send it in one frame."""
        self.pending.add(int(event["push"]))
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self.pending or self.pending_c2b:  # what arrives meanwhile goes in the next frame
            await asyncio.sleep(COALESCE_SECONDS)
            ids, self.pending = self.pending, set()
            c2b_ids, self.pending_c2b = self.pending_c2b, set()
            try:
                if ids:
                    await self.send_json(await in_db(render_rows, ids))
                if c2b_ids:
                    await self.send_json(await in_db(render_c2b_rows, c2b_ids))
            except Exception as exc:  # the socket closed meanwhile, or the database hiccuped
                logger.warning("index flush failed: %r", exc, extra={"event": "simulator.index.flush"})
                return

    async def disconnect(self, code):
        if self.flush_task is not None:
            self.flush_task.cancel()
        if not self.joined:
            return
        try:
            await self.channel_layer.group_discard(INDEX_GROUP, self.channel_name)
        except Exception as exc:
            logger.warning("group_discard failed: %r", exc, extra={"event": "simulator.index.layer"})
