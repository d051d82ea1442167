"""The application under uvicorn instead of Daphne (tests/test_uvicorn.py, the bench's uvicorn
row), started and stopped like topology's Daphne."""

from pathlib import Path

from .topology import PYTHON, Daphne

# uvicorn as the README's "Another ASGI server" runs it: httptools and websockets; its proxy
# headers off (the application reads X-Forwarded-For itself, from TRUSTED_PROXIES only); no
# access log (the application logs its own, tokens redacted); no lifespan (Channels has none).
UVICORN_ARGS = [
    "--http",
    "httptools",
    "--ws",
    "websockets",
    "--no-proxy-headers",
    "--no-access-log",
    "--lifespan",
    "off",
    "--backlog",
    "1024",
    "--log-level",
    "warning",
]


class Uvicorn(Daphne):
    """The same application under uvicorn on 127.0.0.1:<port>."""

    def __init__(self, *, env: dict[str, str], port: int, log_path: Path):
        super().__init__(env=env, port=port, log_path=log_path)
        self.name = "uvicorn"
        self.args = [
            PYTHON,
            "-m",
            "uvicorn",
            "project.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *UVICORN_ARGS,
        ]
