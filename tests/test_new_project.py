"""The README's "Add M-Pesa checkout to your Django project", done for real: build the wheel,
install it (only it: the repository is never on the path), `django-admin startproject mysite`,
apply the README's code blocks as they are written, register an invoice, start Daphne, pay
the invoice through the JSON API with an API token against the bundled simulator, and see the
effect and the signal."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers.topology import ROOT, Process, free_port, wait_until

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def readme_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block in the README's integration section, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Add M-Pesa checkout to your Django project", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def run(*args, cwd: Path, env: dict, timeout: float = 180) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]} {done.stderr[-3000:]}"
    return done.stdout


def test_a_new_project_pays_an_invoice_with_the_installed_apps(tmp_path):
    blocks = readme_blocks()
    languages = [language for language, _ in blocks]
    assert languages[:7] == ["sh", "python", "python", "python", "python", "python", "html"]
    _, settings_block = blocks[1]
    _, urls_block = blocks[2]
    _, asgi_block = blocks[3]
    _, models_block = blocks[4]
    _, receivers_block = blocks[5]
    _, page_block = blocks[6]

    # 1. the wheel, installed alone into a folder of its own
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DARAJA_", "PAYMENTS_", "SIMULATOR_"))
    }
    env.pop("PYTHONPATH", None)
    pip = (sys.executable, "-m", "pip")
    run(
        *pip,
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(tmp_path / "dist"),
        str(ROOT),
        cwd=tmp_path,
        env=env,
    )
    [wheel] = (tmp_path / "dist").glob("mpesa_express_django-*.whl")
    site = tmp_path / "site"
    run(*pip, "install", "-q", "--no-deps", "--target", str(site), str(wheel), cwd=tmp_path, env=env)
    shipped_files = (
        "payments/static/payments/mpesa-checkout.js",
        "payments/migrations/0004_payables_only.py",
        "simulator/templates/simulator/phone.html",
        "mpesa_plumbing/jsonbody.py",
    )
    for shipped in shipped_files:
        assert (site / shipped).is_file(), shipped
    assert (
        not (site / "frontend").exists() and not (site / "tests").exists() and not (site / "project").exists()
    )

    # 2-6. a brand-new project, changed exactly as the README says
    project = tmp_path / "proj"
    project.mkdir()
    env["PYTHONPATH"] = f"{site}{os.pathsep}{project}"
    run(str(BIN / "django-admin"), "startproject", "mysite", str(project), cwd=tmp_path, env=env)
    run(sys.executable, "manage.py", "startapp", "billing", cwd=project, env=env)
    port = free_port()
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\n"
        + settings_block
        + "\n# The test's own port and a quick simulator (not part of the README's steps):\n"
        + f'DARAJA_BASE_URL = "http://127.0.0.1:{port}/simulator"\n'
        + f'DARAJA_CALLBACK_BASE_URL = "http://127.0.0.1:{port}"\n'
        + "SIMULATOR_CALLBACK_DELAY_SECONDS = 0.5\nPAYMENTS_JOB_POLL_SECONDS = 0.2\n"
    )
    urls = project / "mysite" / "urls.py"
    urls.write_text(urls.read_text() + "\n" + urls_block)
    (project / "mysite" / "asgi.py").write_text(asgi_block)
    (project / "billing" / "models.py").write_text(models_block)
    (project / "billing" / "receivers.py").write_text(receivers_block)
    apps_py = project / "billing" / "apps.py"
    apps_py.write_text(
        apps_py.read_text() + "\n    def ready(self):\n        from . import receivers  # noqa: F401\n"
    )
    templates = project / "billing" / "templates" / "billing"
    templates.mkdir(parents=True)
    (templates / "pay.html").write_text("{% load static %}\n" + page_block)

    manage = (sys.executable, "manage.py")
    run(*manage, "makemigrations", "billing", cwd=project, env=env)
    run(*manage, "migrate", "--noinput", cwd=project, env=env)
    out = run(*manage, "check", cwd=project, env=env)
    assert "no issues" in out
    located = run(*manage, "findstatic", "payments/mpesa-checkout.js", cwd=project, env=env)
    assert str(site) in located  # the page's script comes from the installed wheel
    setup = (
        "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
        "from billing.models import Invoice; import json; u = User.objects.create_user('wanjiku'); "
        "t = Token.objects.create(user=u); "
        "i = Invoice.objects.create(customer=u, number='INV-0042', total=2400); "
        "print(json.dumps({'token': t.key, 'invoice': str(i.public_id)}))"
    )
    made = json.loads(run(*manage, "shell", "-c", setup, cwd=project, env=env).strip().splitlines()[-1])
    imported = run(
        sys.executable, "-c", "import payments, simulator; print(payments.__file__)", cwd=project, env=env
    )
    assert imported.startswith(str(site))

    # 7. serve it, and pay
    daphne = Process(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "mysite.asgi:application"],
        env=env,
        log_path=tmp_path / "daphne.log",
        cwd=project,
    ).start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(url), timeout=30, message="the new project's Daphne")
        headers = {"Authorization": f"Token {made['token']}", "Idempotency-Key": "first-click"}
        body = {"payable": "invoice", "id": made["invoice"], "phone": "0708374149"}
        started = httpx.post(f"{url}/payments/initiate/", json=body, headers=headers, timeout=30)
        assert started.status_code == 201, f"{started.text}\n{daphne.log()[-4000:]}"  # the log says why
        status_url = url + started.json()["status_url"]

        def paid():
            payment = httpx.get(status_url, headers=headers, timeout=10).json()["payment"]
            return payment if payment["status"] == "paid" else None

        payment = wait_until(paid, timeout=30, interval=0.2, message="the invoice to be paid")
        assert payment["amount"] == 2400 and payment["payable"]["kind"] == "invoice"
        assert payment["payable"]["reference"] == "INV0042" and re.fullmatch(
            r"[A-Z0-9]{10}", payment["receipt"]
        )
        check = "from billing.models import Invoice; print(Invoice.objects.get(number='INV-0042').paid)"
        assert run(*manage, "shell", "-c", check, cwd=project, env=env).strip().endswith("True")
        wait_until(lambda: "paid: invoice INV-0042" in daphne.log(), timeout=10, message="the signal's print")
        assert f"M-Pesa receipt {payment['receipt']}" in daphne.log()
    finally:
        daphne.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/payments/", timeout=1).status_code in (401, 200)
    except httpx.HTTPError:
        return False
