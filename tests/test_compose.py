"""docker-compose.yml and the Dockerfile, checked against what the app reads (no Docker
engine runs here; the same topology runs for real in tests/test_topology.py)."""

import re

import pytest
import yaml

from tests.helpers.procs import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The settings modules and the SIMULATOR_* reading they share (simulator/env_settings.py).
SIMULATOR_ENV_SRC = (ROOT / "simulator" / "env_settings.py").read_text()
SETTINGS_SRC = (ROOT / "project" / "settings.py").read_text() + SIMULATOR_ENV_SRC
READ_BY_APP = set(re.findall(r'(?:env\.\w+|_require)\(\s*"([A-Z_]+)"', SETTINGS_SRC))


def test_the_topology_is_all_there():
    assert {"postgres", "redis", "migrate", "web1", "web2", "worker", "nginx"} <= set(SERVICES)
    assert "pgdata" in COMPOSE["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]


@pytest.mark.parametrize("name", ["postgres", "redis", "web1", "web2", "worker", "nginx"])
def test_every_long_running_service_has_a_health_check(name):
    check = SERVICES[name]["healthcheck"]
    assert check["test"] and check["interval"]


@pytest.mark.parametrize("name", ["web1", "web2"])
def test_web_runs_daphne_on_the_asgi_app_without_jobs(name):
    web = SERVICES[name]
    assert web["command"][:2] == ["daphne", "-v"] and web["command"][-1] == "project.asgi:application"
    endpoint = dict(part.split("=") for part in web["command"][web["command"].index("-e") + 1].split(":")[1:])
    assert web["expose"] == [endpoint["port"]] and int(endpoint["backlog"]) >= 1024
    assert web["environment"]["PAYMENTS_RUN_JOBS_IN_PROCESS"] == "false"
    assert "/readyz" in " ".join(web["healthcheck"]["test"])


def test_worker_runs_the_jobs_and_beats():
    worker = SERVICES["worker"]
    assert worker["command"][:3] == ["python", "manage.py", "payments_worker"]
    assert worker["environment"].get("PAYMENTS_RUN_JOBS_IN_PROCESS", "true") != "false"
    beat = worker["command"][worker["command"].index("--heartbeat") + 1]
    assert beat in " ".join(worker["healthcheck"]["test"])


@pytest.mark.parametrize("name", ["migrate", "web1", "web2", "worker"])
def test_app_services_are_wired_to_postgres_redis_and_dot_env(name):
    service = SERVICES[name]
    env = service["environment"]
    assert service["env_file"] == ".env"
    assert re.fullmatch(
        r"postgres://mpx:\$\{POSTGRES_PASSWORD:-[^}]+\}@postgres:5432/mpx", env["DATABASE_URL"]
    )
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert set(env) <= READ_BY_APP, set(env) - READ_BY_APP  # no knob the app ignores
    assert SERVICES["postgres"]["environment"]["POSTGRES_DB"] == "mpx"
    assert env["TRUSTED_PROXY_COUNT"] == "1"  # exactly nginx in front


def test_web_waits_for_migrations_and_healthy_stores():
    depends = SERVICES["web1"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_nginx_balances_both_webs_and_upgrades_websockets():
    conf = COMPOSE["configs"]["nginx_conf"]["content"]
    port = SERVICES["web1"]["expose"][0]
    assert f"server web1:{port}" in conf and f"server web2:{port}" in conf
    ws = conf[conf.index("location /ws/") :]
    assert "proxy_set_header Upgrade $$http_upgrade" in ws and "proxy_http_version 1.1" in ws
    assert "X-Forwarded-For $$proxy_add_x_forwarded_for" in conf
    assert "access_log /dev/stdout redacted" in conf and "$${keep}****" in conf


def test_dockerfile_is_slim_non_root_with_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER app$", dockerfile, re.M)
    assert "collectstatic" in dockerfile and "--proxy-headers" not in dockerfile.split("CMD")[-1]
    assert "gettext" in dockerfile and "manage.py compilemessages" in dockerfile  # Kiswahili compiled
    for app in ("project", "mpesa_plumbing", "payments", "simulator", "frontend"):
        assert f"COPY --chown=app:app {app} ./{app}" in dockerfile
    assert not re.search(r"^COPY .*\b(tests|bench)\b", dockerfile, re.M)  # tooling stays out
    assert "--require-hashes -r requirements.txt" in dockerfile
    assert "servestatic==" in (ROOT / "requirements.txt").read_text()


SIM_SETTINGS_SRC = (ROOT / "project" / "settings_simulator.py").read_text() + SIMULATOR_ENV_SRC
READ_BY_SIMULATOR = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', SIM_SETTINGS_SRC))


def test_the_simulator_service_serves_only_the_simulator():
    """The standalone simulator: same image, its own settings module and ASGI app, migrates
    its own SQLite file first, listens on 9100 and is healthy by /healthz."""
    sim = SERVICES["simulator"]
    assert sim["image"] == SERVICES["web1"]["image"] and sim["build"] == "."
    env = sim["environment"]
    assert env["DJANGO_SETTINGS_MODULE"] == "project.settings_simulator"
    assert set(env) - {"DJANGO_SETTINGS_MODULE"} <= READ_BY_SIMULATOR, set(env) - READ_BY_SIMULATOR
    assert env["SIMULATOR_DATABASE_URL"].startswith("sqlite:///")
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env  # nothing of the shop's stores
    command = sim["command"][-1]
    migrate, serve = command.split(" && ")
    assert migrate == "python manage.py migrate --noinput -v 0"
    assert serve.startswith("exec daphne -v 0 -e ") and serve.endswith(
        " simulator.standalone.asgi:application"
    )
    endpoint = dict(part.split("=") for part in serve.split(" -e ")[1].split()[0].split(":")[1:])
    assert sim["ports"] == [f"{endpoint['port']}:{endpoint['port']}"] and int(endpoint["backlog"]) >= 1024
    assert f"127.0.0.1:{endpoint['port']}/healthz" in " ".join(sim["healthcheck"]["test"])
    assert "simulator" in env["SIMULATOR_HOSTS"].split(",")  # the shop's containers call it by name
    assert {"nginx", "web1", "web2"} <= set(env["SIMULATOR_ALLOWED_CALLBACK_HOSTS"].split(","))
    assert "depends_on" not in sim  # it needs nothing else


def test_the_simulator_settings_import_nothing_of_the_shop():
    assert not re.search(r"^\s*(from|import) (payments|frontend)\b", SIM_SETTINGS_SRC, re.M)
    assert '"payments"' not in SIM_SETTINGS_SRC and '"frontend"' not in SIM_SETTINGS_SRC
