"""What the doctor tests share: a transport that routes Safaricom's hostnames to local servers,
the doctor's JSON report, and the one-failing-check assertion."""

import json
import socket
from io import StringIO

import httpx
from django.core.management import CommandError, call_command


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Route(httpx.AsyncBaseTransport):
    """The client's transport hook: requests for Safaricom's hosts go to loopback servers,
    loopback requests go where they are addressed, anything else is unreachable."""

    def __init__(self, hosts: dict[str, str]):
        self.hosts = hosts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host in self.hosts:
            target = httpx.URL(self.hosts[url.host])
            url = url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        elif url.host != "127.0.0.1":
            raise httpx.ConnectError(f"no route to {url.host}", request=request)
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        async with httpx.AsyncClient(follow_redirects=False) as http:
            answer = await http.request(request.method, url, headers=headers, content=await request.aread())
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


class Report:
    def __init__(self, output: str, exit_status: int):
        self.records = [json.loads(line) for line in output.splitlines() if line.strip()]
        self.exit_status = exit_status
        self.checks = {r["check"]: r for r in self.records if "check" in r}

    def __getitem__(self, name: str) -> dict:
        return self.checks[name]

    def status(self, name: str) -> str:
        return self.checks[name]["status"]


def doctor(*, human: bool = False) -> Report | tuple[str, int]:
    out, exit_status = StringIO(), 0
    try:
        call_command("mpesa", *([] if human else ["--json"]), "doctor", stdout=out, stderr=StringIO())
    except CommandError as exc:
        exit_status = exc.returncode
    return (out.getvalue(), exit_status) if human else Report(out.getvalue(), exit_status)


def assert_only(report: Report, failing: str, status: str = "FAIL", passing: tuple[str, ...] = ()) -> dict:
    """``failing`` has ``status`` and a fix, every check in ``passing`` passed, and the exit
    status is 1 exactly when some check failed."""
    assert report.status(failing) == status, report[failing]
    for name in passing:
        assert report.status(name) == "PASS", report[name]
    assert report.exit_status == int(any(r["status"] == "FAIL" for r in report.checks.values()))
    assert report[failing]["fix"], "a check that did not pass says how to fix it"
    return report[failing]
