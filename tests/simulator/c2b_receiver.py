"""The business side of C2B for tests: its two URLs on the loopback receiver (conftest.py
makes one per test as the ``c2b_receiver`` fixture)."""

import json
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class C2BReceiver:
    """The business's two C2B URLs on the loopback receiver: each records what it gets and
    answers ``validation_answer`` / ``confirmation_answer`` (or runs ``validation_handler``)."""

    server: HTTPServer
    validation_answer: str = '{"ResultCode":"0","ResultDesc":"Accepted"}'
    validation_status: int = 200
    validation_handler: object = None
    confirmation_answer: str = '{"ResultCode":0,"ResultDesc":"Success"}'
    validations: list = field(default_factory=list)
    confirmations: list = field(default_factory=list)

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.server.port}/c2b/{kind}/"

    @property
    def validation_url(self) -> str:
        return self.url("validate")

    @property
    def confirmation_url(self) -> str:
        return self.url("confirm")

    def on_validation(self, request: Request) -> Response:
        self.validations.append({"headers": dict(request.headers), "body": request.get_data(as_text=True)})
        if self.validation_handler is not None:
            return self.validation_handler(request)
        return Response(
            self.validation_answer, status=self.validation_status, content_type="application/json"
        )

    def on_confirmation(self, request: Request) -> Response:
        self.confirmations.append({"headers": dict(request.headers), "body": request.get_data(as_text=True)})
        return Response(self.confirmation_answer, status=200, content_type="application/json")

    def bodies(self, kind: str) -> list[dict]:
        seen = self.validations if kind == "validation" else self.confirmations
        return [json.loads(item["body"]) for item in seen]
