"""Pages for people: the index (test numbers, recent pushes) and the virtual handset."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .c2b_selectors import C2B_PER_PAGE, c2b_recent, c2b_row
from .conf import sim_config
from .models import SimC2BPayment, SimC2BRegistration
from .outcomes import rules
from .outcomes.c2b_faults import C2B_FAULT_PHONES
from .selectors import push_row, pushes_page
from .wire.codes import CALLBACK_DESC
from .wire.requests import PHONE_RE


def _numbers() -> list[dict[str, str]]:
    rows = [{"phone": rules.TEST_MSISDN, "what": "0 (success): Daraja's sandbox test MSISDN"}]
    for code, desc in CALLBACK_DESC.items():
        if code.isdigit() and len(code) <= 5:
            rows.append({"phone": rules.code_phone(code), "what": f"{code}: {desc}"})
    for suffix, (what, _) in rules.FAULT_PHONES.items():
        rows.append({"phone": rules.fault_phone(suffix), "what": f"fault: {what}"})
    for suffix, (what, _) in C2B_FAULT_PHONES.items():
        rows.append({"phone": rules.fault_phone(suffix), "what": f"fault: {what}"})
    return rows


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """``/simulator/``: the latest pushes (``?page=N``, 20 a page; live, see live_index.py),
    the latest C2B payments (live too), and the rules table as links to handsets."""
    config = sim_config()
    page = pushes_page(request.GET.get("page"))
    context = {
        "numbers": _numbers(),
        "page": page,
        "rows": [push_row(push) for push in page],
        "merchant": config.merchant,
        "config": config,
        "c2b_rows": [c2b_row(p) for p in c2b_recent(limit=C2B_PER_PAGE)],
        "c2b_total": SimC2BPayment.objects.count(),
        "c2b_per_page": C2B_PER_PAGE,
        "registrations": list(SimC2BRegistration.objects.all()),
    }
    return render(request, "simulator/index.html", context)


@require_GET
def phone(request: HttpRequest, msisdn: str) -> HttpResponse:
    """``/simulator/phone/<msisdn>/``: a handset that shows prompts live and answers them."""
    if not PHONE_RE.match(msisdn):
        raise Http404("Not a Kenyan M-Pesa number (2547XXXXXXXX or 2541XXXXXXXX).")
    config = sim_config()
    return render(
        request,
        "simulator/phone.html",
        {"msisdn": msisdn, "pin_window": config.pin_window, "merchant": config.merchant},
    )
