"""A stand-in for Safaricom's API gateway in front of the simulator, in a process of its own.

It forwards every request to ``--upstream`` (the simulator's base URL) and answers with the
upstream's status, headers and body, plus the ``Date`` header every HTTP server with a clock
sends (RFC 9110 §6.6.1) and Daraja's answers carry, stamped by this process's clock. Daphne
sends none, and the doctor's clock check needs a clock that ``time-machine`` in the test
process does not move.

    python -m tests.payments.management.gateway --port 8123 --upstream http://127.0.0.1:8000/simulator
"""

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "date", "server"}


def handler_for(upstream: str) -> type[BaseHTTPRequestHandler]:
    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED}
            with httpx.Client(timeout=30, follow_redirects=False) as http:
                answer = http.request(self.command, upstream + self.path, headers=headers, content=body)
            self.send_response(answer.status_code)  # writes Server and Date
            for name, value in answer.headers.items():
                if name.lower() not in NOT_FORWARDED | {"content-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = forward

        def log_message(self, format, *args) -> None:  # quiet
            pass

    return Gateway


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(args.upstream.rstrip("/"))).serve_forever()


if __name__ == "__main__":
    main()
