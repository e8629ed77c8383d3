"""The cart terminal: one page that a nurse drives with a barcode scanner. Thin views; the page
talks to the JSON API for every check and record."""

from django.conf import settings
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hospital.exceptions import ApplicationError
from scanning.scans import ScanInput
from scanning.services import LockedOutError, staff_authenticate_badge
from wards.models import Ward


def cart_login(request):
    error = ""
    if request.method == "POST":
        try:
            user = staff_authenticate_badge(
                request=request,
                badge=ScanInput(code=request.POST.get("badge", "")[:200]),
                pin=request.POST.get("pin", "")[:8],
            )
        except LockedOutError:
            error = _("Too many failed attempts: this badge is locked for 15 minutes.")
        except ApplicationError:
            error = _("Badge or PIN not recognised.")
        else:
            ward = request.POST.get("ward", "")[:20]
            if not user.may_administer:
                error = _("Only nurses can use the cart.")
            elif not ward:
                # A cart without a ward would never warn WRONG_WARD.
                error = _("Choose the ward of this cart.")
            elif not user.wards.filter(code=ward).exists():
                error = _("You are not assigned to this ward.")
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                request.session["cart"] = request.POST.get("cart", "")[:60]
                request.session["ward"] = request.POST.get("ward", "")[:20]
                return redirect(_safe_next(request) or "cart:terminal")
    return render(
        request,
        "cart/login.html",
        {
            "error": error,
            "locked": request.GET.get("locked") == "1",
            "wards": Ward.objects.order_by("code"),
            "selected_ward": request.POST.get("ward") or request.COOKIES.get("cart_ward", ""),
            "next": _safe_next(request),
        },
        status=401 if error else 200,
    )


def _safe_next(request) -> str:
    """Where to go after logging in (e.g. the charge nurse's dashboard), only within this site."""
    target = request.POST.get("next") or request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def cart_strings() -> dict[str, str]:
    """Every sentence the page's script shows, translated for the current language."""
    return {
        "prompt_patient": _("Scan the patient's wristband"),
        "prompt_medication": _("Scan the medication"),
        "prompt_witness": _("Second nurse: scan your badge"),
        "witness_scanned": _("Witness badge scanned: now the witness PIN."),
        "go": _("GO – correct medication"),
        "warn": _("WARNING – a reason is needed"),
        "stop": _("STOP – do not give"),
        "progress": _("Scanned {scanned} of {ordered} ({count} of {total} units)"),
        "recorded": _("Recorded: {drug} {amount}"),
        "not_given_recorded": _("Recorded as not given."),
        "switch_confirm": _(
            "This wristband belongs to another patient. Close {current} and open the new patient?"
        ),
        "allergies": _("Allergies"),
        "no_allergies": _("No known allergies"),
        "bed": _("Bed"),
        "prn": _("As needed (PRN)"),
        "due": _("Due now"),
        "overdue": _("Overdue"),
        "upcoming": _("Upcoming"),
        "missed": _("Missed"),
        "given": _("Given"),
        "not_given": _("Not given"),
        "cancelled": _("Cancelled"),
        "order_on_hold": _("on hold"),
        "order_pending_verification": _("awaiting pharmacist"),
        "order_discontinued": _("discontinued"),
        "comment_required": _("Write a short comment"),
        "network_error": _("Connection problem – nothing was recorded. Try again."),
        "server_unavailable": _(
            "The system could not confirm the record. Press Record again: "
            "the dose will not be recorded twice."
        ),
        "camera_unavailable": _("The camera is not available."),
    }


def cart_terminal(request):
    user = request.user
    if not user.is_authenticated:
        return redirect("cart:login")
    if not user.may_administer:
        logout(request)
        return redirect("cart:login")
    config = {
        "idleSeconds": settings.CART_IDLE_LOCK_SECONDS,
        "ward": request.session.get("ward", ""),
        "cart": request.session.get("cart", ""),
        "loginUrl": reverse("cart:login"),
        "logoutUrl": reverse("cart:logout"),
        "api": "/api/v1/",
    }
    response = render(
        request, "cart/terminal.html", {"config": config, "strings": cart_strings(), "nurse": user}
    )
    response["Cache-Control"] = "no-store"  # patient data must not be kept by the browser
    return response


@require_POST
def cart_logout(request):
    logout(request)
    target = reverse("cart:login")
    if request.POST.get("reason") == "idle":
        target += "?locked=1"
    return redirect(target)
