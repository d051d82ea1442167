"""``ws/simulator/phone/<msisdn>/``: the virtual handset's live prompts.

No login (a dev tool), but the msisdn is validated before anything else, and the router's
AllowedHostsOriginValidator still applies. Frames in: ``{"type": "ping"}``,
``{"type": "pay", "checkout_request_id", "pin"}``, ``{"type": "wrong_pin", …}``,
``{"type": "cancel", …}``, ``{"type": "resync"}``, and the M-PESA menu's Pay Bill:
``{"type": "paybill", "business_number", "account_number", "amount", "pin"}`` (handset/paybill.py).
Frames out: ``snapshot`` (the open prompts and the phone's latest C2B payments, on connect and
on resync), ``prompt``, ``closed``, ``answered``, ``paybill_sent``, ``c2b`` (a C2B payment from
this phone changed), ``pong``, ``error``.
``ping`` and ``resync`` are heartbeats; the page resyncs every 10 s, so a notification lost by
the channel layer (it is best effort) only delays what the page shows.
While a page is open (presence rows with a heartbeat), this phone's prompts wait for it.
"""

import logging
import re

from mpesa_plumbing.db import in_db
from mpesa_plumbing.jsonbody import JsonError, loads
from mpesa_plumbing.sockets import BridgedJsonConsumer

from ..conf import sim_config
from ..wire.requests import PHONE_RE
from . import presence
from .answer import handset_answer
from .paybill import handset_paybill

logger = logging.getLogger("simulator.handset")
MAX_FRAME = 1024
CLOSE_POLICY = 4008
_PIN_RE = re.compile(r"^\d{4}$")


class HandsetConsumer(BridgedJsonConsumer):
    msisdn: str | None = None
    group: str | None = None

    async def connect(self):
        msisdn = self.scope["url_route"]["kwargs"].get("msisdn", "")
        if not PHONE_RE.match(msisdn):
            return await self.close()
        group = presence.handset_group(msisdn)
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception as exc:
            logger.warning("channel layer unavailable: %r", exc, extra={"event": "simulator.handset.layer"})
            return await self.close()
        self.msisdn, self.group = msisdn, group
        await in_db(presence.presence_join, channel_name=self.channel_name, msisdn=msisdn)
        await self.accept()
        await self.send_snapshot()

    async def send_snapshot(self) -> None:
        config = sim_config()
        prompts = await in_db(presence.open_prompts, self.msisdn, config=config)
        payments = await in_db(presence.recent_c2b, self.msisdn)
        await self.send_json(
            {
                "type": "snapshot",
                "msisdn": self.msisdn,
                "prompts": prompts,
                "payments": payments,
                "shop": config.merchant.name,
            }
        )

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if bytes_data is not None or text_data is None or len(text_data) > MAX_FRAME:
            return await self.close(code=CLOSE_POLICY)
        try:
            content = loads(text_data, max_depth=4)
        except JsonError:
            return await self.close(code=CLOSE_POLICY)
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await in_db(presence.presence_heartbeat, channel_name=self.channel_name)
            return await self.send_json({"type": "pong"})
        if kind == "resync":
            await in_db(presence.presence_heartbeat, channel_name=self.channel_name)
            return await self.send_snapshot()
        if kind == "paybill":
            return await self.paybill(content)
        if kind not in presence.ANSWERS:
            return await self.send_json(
                {"type": "error", "error": "Send ping, resync, pay, wrong_pin, cancel or paybill."}
            )
        checkout_id = content.get("checkout_request_id")
        if not isinstance(checkout_id, str) or not checkout_id:
            return await self.send_json(
                {"type": "error", "error": "Which prompt? checkout_request_id is missing."}
            )
        if kind == "pay" and not _PIN_RE.match(str(content.get("pin", ""))):
            return await self.send_json(
                {"type": "error", "error": "Enter a 4-digit M-PESA PIN.", "checkout_request_id": checkout_id}
            )
        push = await in_db(
            handset_answer,
            checkout_request_id=checkout_id,
            msisdn=self.msisdn,
            answer=kind,
            config=sim_config(),
        )
        if push is None:
            return await self.send_json(
                {
                    "type": "error",
                    "error": "This prompt is no longer open.",
                    "checkout_request_id": checkout_id,
                }
            )
        await self.send_json(
            {
                "type": "answered",
                "checkout_request_id": checkout_id,
                "result_code": push.result_code,
                "result_desc": push.result_desc,
            }
        )

    async def paybill(self, content: dict) -> None:
        payment, error = await in_db(handset_paybill, self.msisdn, content, config=sim_config())
        if payment is None:
            return await self.send_json({"type": "error", "error": error, "form": "paybill"})
        await self.send_json({"type": "paybill_sent", "payment": presence.c2b_payload(payment)})

    async def c2b_update(self, event):
        await self.send_json({"type": "c2b", "payment": event["payment"]})

    async def prompt_new(self, event):
        await self.send_json({"type": "prompt", "prompt": event["prompt"]})

    async def prompt_closed(self, event):
        await self.send_json(
            {k: event[k] for k in ("checkout_request_id", "result_code", "reason")} | {"type": "closed"}
        )

    async def disconnect(self, code):
        if self.group is None:
            return
        await in_db(presence.presence_leave, channel_name=self.channel_name)
        try:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        except Exception as exc:
            logger.warning("group_discard failed: %r", exc, extra={"event": "simulator.handset.layer"})
