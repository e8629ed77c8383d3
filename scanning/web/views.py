"""The cart terminal: one page that a nurse drives with a barcode scanner. Thin views; the page
talks to the JSON API for every check and record."""

import re

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from hospital.exceptions import ApplicationError
from hospital.models import ADMINISTERING_ROLES, PIN_MAX_DIGITS, PIN_MIN_DIGITS
from hospital.sessions import cart_session_start
from hospital.throttle import LoginBusyError, LoginThrottledError, request_source
from pharmacy.body_sites import BODY_SITES
from pharmacy.models import DoseUnit, Route, VerbalKind
from scanning.access import WardNotAssignedError
from scanning.api.views import staff_display_name
from scanning.models import MissingDoseReason, UnrecordedCheckReason
from scanning.scans import ScanInput
from scanning.services import (
    ReleaseNotAllowedError,
    WardRequiredError,
    cart_ward_check,
    staff_authenticate_badge,
    staff_login_release,
)
from wards.models import Ward


def _wait_message(error: LoginThrottledError) -> str:
    return ngettext(
        "Too many failed attempts: wait %(seconds)d second, or ask the charge nurse to let you in.",
        "Too many failed attempts: wait %(seconds)d seconds, or ask the charge nurse to let you in.",
        error.retry_after,
    ) % {"seconds": error.retry_after}


def _login_form_problem(post) -> tuple[str, str] | None:
    """The first missing or malformed field of a login form and what to say about it, as login.js
    says it: a form sent before the page's script ran (a fast Enter) gets the same answer, and
    never counts as a failed attempt."""
    if not post.get("badge", "").strip():
        return "badge", _("Scan your badge first.")
    if not re.fullmatch(rf"[0-9]{{{PIN_MIN_DIGITS},{PIN_MAX_DIGITS}}}", post.get("pin", "")):
        return "pin", _("A PIN has 6 to 8 digits.")
    if not post.get("ward", ""):
        return "ward", _("Choose the ward of this cart.")
    return None


def cart_login(request):
    error, status = "", 200
    problem = _login_form_problem(request.POST) if request.method == "POST" else None
    if problem:
        status = 400
    elif request.method == "POST":
        cart = request.POST.get("cart", "")[:60]
        try:
            user = staff_authenticate_badge(
                badge=ScanInput(code=request.POST.get("badge", "")[:200]),
                pin=request.POST.get("pin", "")[:8],
                source=request_source(request, cart),
            )
        except LoginThrottledError as throttled:
            error, status = _wait_message(throttled), 429
        except LoginBusyError:
            error, status = _("The system is checking other logins: try again in a moment."), 429
        except ApplicationError:
            error = _("Badge or PIN not recognised.")
        else:
            ward = request.POST.get("ward", "")[:20]
            if not user.may_administer:
                error = _("Only nurses can use the cart.")
            else:
                try:
                    cart_ward_check(user, ward)
                except WardRequiredError:
                    error = _("Choose the ward of this cart.")
                except WardNotAssignedError:
                    error = _("You are not assigned to this ward.")
                else:
                    cart_session_start(request, user, cart=cart, ward=ward)
                    return redirect(_safe_next(request) or "cart:terminal")
    return render(
        request,
        "cart/login.html",
        {
            "error": error,
            "problem_field": problem[0] if problem else "",
            "problem": problem[1] if problem else "",
            "throttled": status == 429,
            "locked": request.GET.get("locked") == "1",
            "unrecorded_at_lock": request.session.pop(UNRECORDED_AT_LOCK, "")
            if request.method == "GET"
            else "",
            # Grouped by hospital: in a province, NOI is on the list of every hospital.
            "wards": Ward.objects.select_related("hospital").order_by("hospital__code", "code"),
            "selected_ward": request.POST.get("ward") or request.COOKIES.get("cart_ward", ""),
            "next": _safe_next(request),
        },
        status=status if status != 200 else (401 if error else 200),
    )


def cart_release(request):
    """A charge nurse lets a nurse whose logins are delayed in: the nurse's badge, then the
    charge nurse's own badge and PIN (scanning.services.staff_login_release)."""
    error, released, status = "", None, 200
    if request.method == "POST":
        try:
            released = staff_login_release(
                badge=ScanInput(code=request.POST.get("badge", "")[:200]),
                supervisor=ScanInput(code=request.POST.get("by", "")[:200]),
                pin=request.POST.get("pin", "")[:8],
                source=request_source(request),
            )
        except LoginThrottledError as throttled:
            error, status = _wait_message(throttled), 429
        except LoginBusyError:
            error, status = _("The system is checking other logins: try again in a moment."), 429
        except ReleaseNotAllowedError:
            error, status = _("Only a charge nurse or an administrator can do this."), 403
        except ApplicationError:
            error, status = _("Badge or PIN not recognised."), 401
    return render(
        request,
        "cart/release.html",
        {"error": error, "released": released},
        status=status,
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
        "witness_pending": _("WAIT – needs a second nurse to check"),
        "assessment_pending": _("WAIT – measure and enter the values first"),
        "witness_confirmed": _("Checked by a second nurse: {name}"),
        "prompt_cosign": _("Instructor: scan your badge to co-sign"),
        "dose_old_ward": _("⇄ due on {ward}, before the transfer"),
        "cosign_scanned": _("Instructor badge scanned: now the instructor PIN."),
        "cosign_pending": _("WAIT – needs the clinical instructor's co-sign"),
        "cosign_confirmed": _("Co-signed by the clinical instructor: {name}"),
        "progress": _("Scanned {scanned} of {ordered} ({count} of {total} units)"),
        "recorded": _("Recorded: {drug} {amount}"),
        "waste_documented": _("Wasted {amount}: documented with the dose, before the witness."),
        "waste_recorded": _("Wasted {amount}."),
        "not_given_recorded": _("Recorded as not given."),
        "switch_confirm": _(
            "This wristband belongs to another patient. Scan the NEW band again to switch, "
            "or the CURRENT band to stay."
        ),
        "switch_other_scan": _(
            "That is neither of these two wristbands: scan the new band to switch or the "
            "current band to stay."
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
        "network_error": _("Connection problem: the server did not answer. Try again."),
        "offline_scan": _(
            "No connection: this scan could not be checked. The screen was cleared; nothing "
            "on it is current."
        ),
        "outcome_checking": _(
            "The answer was lost: asking the server whether it was recorded… Do not give or "
            "record again yet."
        ),
        "outcome_not_recorded": _(
            "The server confirms nothing was recorded. Press Record again when ready."
        ),
        "not_given_not_recorded": _(
            "The server confirms the not-given note was not recorded. Document it again."
        ),
        "refused_badge": _("A staff badge is not a medication: it was not added to this dose."),
        "refused_unknown": _(
            "This code is not a medication barcode we know: it was not added to this dose."
        ),
        "duplicate_unit": _("This unit was already scanned: the second read is ignored."),
        "unit_lot": _("lot"),
        "unit_serial": _("serial"),
        "remove_unit": _("Remove"),
        "camera_unavailable": _("The camera is not available."),
        **infusion_strings(),
        **dose_list_strings(),
        **session_strings(),
        **patch_strings(),
        **worklist_strings(),
        **missing_dose_strings(),
        **verbal_order_strings(),
    }


def verbal_order_strings() -> dict[str, str]:
    """A verbal or telephone order documented at the cart, and its flag on the dose list."""
    return {
        "verbal_unsigned": _("Verbal order from {prescriber}: not co-signed yet"),
        "verbal_documented": _("Verbal order documented: {drug}. Scan it to give it."),
        "verbal_documented_pending": _(
            "Verbal order documented: {drug}. It awaits the pharmacist's verification."
        ),
        "verbal_not_documented": _("Verbal order NOT documented: {reason}"),
        "verbal_no_answer": _(
            "No answer from the server: the verbal order may not be documented. Check the list "
            "before documenting it again."
        ),
        "verbal_kind_needed": _("Choose verbal or telephone."),
        "worklist_stat": _("STAT"),
        "worklist_verbal_unsigned": _("verbal order, not co-signed"),
        "verbal_read_back_needed": _("Read the order back to the prescriber and tick the box."),
    }


def infusion_strings() -> dict[str, str]:
    """Hanging a bag, the bags infusing now and the changes to them."""
    return {
        "infusion_order": _("Infusion: {rate} mL/h ordered, bag {volume} mL, added: {additives}."),
        "hang_bag": _("Hang the bag and start"),
        "bag_hung": _("Bag hung: {drug} at {rate} mL/h on line {line}."),
        "bag_line": _(
            "{drug} · line {line} · {state} · {rate} mL/h · running {elapsed} · ends {end}"
        ),
        "bag_running": _("running"),
        "bag_paused": _("paused"),
        "bag_on_line": _("line"),
        "bag_action_rate_change": _("Change rate"),
        "bag_action_pause": _("Pause"),
        "bag_action_resume": _("Resume"),
        "bag_action_stop": _("Stop"),
        "bag_action_complete": _("Complete"),
        "bag_scanned": _("Bag scanned."),
        "bag_scan_first": _("Scan the bag first."),
        "bag_not_confirmed": _(
            "No answer from the server: this change is NOT confirmed. Press Confirm again: it "
            "will be recorded once."
        ),
        "bag_done": _("{action}: {drug} recorded."),
        "bag_volume": _("Volume infused: {volume} mL."),
    }


def patch_strings() -> dict[str, str]:
    """Patches on the patient, their removal, the body-site picker, and the values measured
    before giving."""
    return {
        "hold_rules": _("Hold if: {rules}"),
        "site_choose": _("Tap the body site"),
        "site_required": _("Choose the site where the patch is placed before recording."),
        "worn_line": _("{drug} · {site} · applied {applied} · remove by {due}"),
        "worn_overdue": _("OVERDUE for removal"),
        "worn_remove": _("Remove"),
        "removed": _("Removal recorded: {drug} from the {site}."),
    }


def worklist_strings() -> dict[str, str]:
    """The ward worklist shown before any wristband is scanned."""
    return {
        "worklist_window": _("From {before} h ago to {ahead} h ahead. Updated at {time}."),
        "worklist_stale": _(
            "NOT UPDATED: the list could not be refreshed and is from {time} ({minutes} min "
            "ago). Doses may have been given or added since."
        ),
        "worklist_unavailable": _(
            "The ward's list could not be loaded. Scan a wristband as usual."
        ),
        "worklist_empty": _("No doses due or overdue on the ward in this window."),
        "worklist_bed": _("Bed {bed}"),
        "worklist_removal": _("Patch due off: {drug} · {site}"),
        "worklist_bag_end": _("Bag due to end: {drug} · line {line}"),
        "worklist_reassessment": _("PRN reassessment due: {drug}"),
        "worklist_witness": _("Witness needed"),
        "worklist_controlled": _("Controlled drug: witness for any waste"),
        "worklist_measure": _("Measure before giving"),
        "worklist_scan_hint": _("To open {patient} (bed {bed}), scan the wristband."),
    }


def missing_dose_strings() -> dict[str, str]:
    """A dose asked for from the pharmacy: the row's button and line, and the answers."""
    return {
        "missing_action": _("Ask the pharmacy…"),
        "missing_requested_line": _("Requested from the pharmacy {time} · {by} ({reason})"),
        "missing_sent_line": _("Sent by the pharmacy {time} · {by}"),
        "missing_requested": _("Requested from the pharmacy: {drug}."),
        "missing_already": _("Already requested by {by} at {time}: the pharmacy has it."),
        "missing_not_sent": _("NOT requested from the pharmacy: {reason}"),
        "missing_no_answer": _(
            "No answer from the server: the request is NOT confirmed. Ask again: the pharmacy "
            "gets one request per dose."
        ),
        "missing_comment_needed": _("Say why, for the reason 'other'."),
    }


def body_sites(language: str) -> list[dict]:
    """The coded body sites for the cart's picker, in the nurse's language."""
    english = language.startswith("en")
    return [
        {"code": site.code, "name": site.en if english else site.vi} for site in BODY_SITES.values()
    ]


def session_strings() -> dict[str, str]:
    """The idle countdown, logging in again over the page, and "scanned but not recorded"."""
    return {
        "dose_named": _("{drug} {amount} for {patient}"),
        "idle_locks_in": _(
            "This screen locks itself in {seconds} s. Touch the screen or scan to keep it open."
        ),
        "idle_unrecorded": _(
            "NOT RECORDED YET: {dose}. If it was given, press “Record as given” now."
        ),
        "reauth_pending": _("On the screen, not recorded yet: {dose}."),
        "reauth_pending_unknown": _(
            "The answer about {dose} was lost: once you are logged in again, the cart asks the "
            "server whether it was recorded."
        ),
        "login_no_badge": _("Scan your badge first."),
        "login_bad_pin": _("A PIN has 6 to 8 digits."),
        "reauth_failed": _("Badge or PIN not recognised."),
        "reauth_wait": _(
            "Too many failed attempts: wait {seconds} s, or ask the charge nurse to let you in."
        ),
        "reauth_busy": _("The system is checking other logins: try again in a moment."),
        "reauth_ward": _("You are not assigned to this ward."),
        "reauth_other": _(
            "{new} logged in at this cart in place of {old}: nothing of {old}'s is recorded under "
            "{new}'s name, and the screen was cleared."
        ),
        "reauth_other_dose": _(
            "NOT recorded: {dose}. {old} sees it as “scanned but not recorded” at her next login."
        ),
        "reauth_other_unknown": _(
            "Whether {dose} was recorded is not known (its answer was lost): if it was not, {old} "
            "sees it as “scanned but not recorded” at her next login."
        ),
        "reauth_cancelled": _(
            "Login cancelled. The session has ended: nothing can be checked or recorded until you "
            "log in again (Record or a scan asks for it)."
        ),
        "reauth_cancelled_dose": _("NOT recorded: {dose}."),
        "not_given_cancelled": _(
            "The not-given note was NOT recorded: the session had ended. Log in again and "
            "document it again."
        ),
        "unrecorded_checked": _("scanned at {time}"),
        "unrecorded_due": _("dose due at {time}"),
        "acknowledge": _("Say what happened…"),
        "acknowledged": _("Answered for: {drug} for {patient}."),
    }


def dose_list_strings() -> dict[str, str]:
    """The typed-code dialog, the dose list and not-given / entered-in-error at the cart."""
    return {
        "keyed_lot_needed": _("Type the lot number printed on the pack."),
        "keyed_expiry_needed": _("Enter the expiry date printed on the pack."),
        "missed_group": _("Past due, not given: {count} doses"),
        "action_not_given": _("Record not given…"),
        "not_given_confirm": _("Record that {drug} was not given – {reason}?"),
        "transferred": _("Recently transferred: from {ward} {bed} at {time} on {date}"),
        "weight": _("{kg} kg (weighed {date})"),
        "no_weight": _("not weighed"),
        "dose_per_kg": _("{per_kg}: {dose} for today's weight"),
        "max_per_kg": _("at most {max}"),
        "allergy_conflict": _("Patient is allergic"),
        "severe": _("severe"),
        "prn_last": _("Last given {time}"),
        "prn_none": _("Not given in the last 48 hours"),
        "prn_next": _("next dose allowed from {time}"),
        "prn_now": _("can be given now"),
        "prn_never": _("the 24-hour maximum is reached"),
        "prn_last_doses": _("last 24 h: {doses}"),
        "reassess_line": _("{drug} for {reason} · given {given} · reassess by {due}"),
        "reassess_overdue": _("REASSESSMENT OVERDUE"),
        "reassess_open": _("Reassess"),
        "reassessed": _("Reassessment saved: {drug}."),
        "reassessed_late": _("Reassessment saved: {drug}, {minutes} min late."),
        "reassess_unknown": _(
            "Not known whether the reassessment was saved: tap Save again (it is never saved twice)."
        ),
        "action_entered_in_error": _("Entered in error…"),
        "entered_in_error_recorded": _("Marked as entered in error."),
        "recent_records": _("Records of the last 72 hours"),
        "recent_none": _("No records in the last 72 hours."),
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
        "idleWarningSeconds": idle_warning_seconds(),
        # Who is logged in: a login over the page (the session ended) by someone else must not
        # finish her dose under the other nurse's name.
        "username": user.username,
        "nurseName": staff_display_name(user),
        "administeringRoles": sorted(ADMINISTERING_ROLES),
        "ward": request.session.get("ward", ""),
        "cart": request.session.get("cart", ""),
        "loginUrl": reverse("cart:login"),
        "logoutUrl": reverse("cart:logout"),
        "api": "/api/v1/",
        "worklistRefreshSeconds": settings.CART_WORKLIST_REFRESH_SECONDS,
        "downtimeMarUrl": settings.CART_DOWNTIME_MAR_URL.replace(
            "{ward}", request.session.get("ward", "")
        ),
    }
    response = render(
        request,
        "cart/terminal.html",
        {
            "config": config,
            "strings": cart_strings(),
            "nurse": user,
            "unrecorded_reasons": UnrecordedCheckReason.choices,
            "missing_dose_reasons": MissingDoseReason.choices,
            "verbal_kinds": VerbalKind.choices,
            "dose_units": DoseUnit.choices,
            "routes": Route.choices,
            "body_sites": body_sites(translation.get_language() or "vi"),
        },
    )
    response["Cache-Control"] = "no-store"  # patient data must not be kept by the browser
    return response


def idle_warning_seconds() -> int:
    """How long the countdown before the idle lock runs: CART_IDLE_WARNING_SECONDS, or 30 s, or a
    quarter of the idle time when that is shorter; always within the idle time."""
    idle = settings.CART_IDLE_LOCK_SECONDS
    chosen = settings.CART_IDLE_WARNING_SECONDS
    if chosen is None:
        chosen = min(30, idle // 4)
    return max(1, min(chosen, idle - 1))


UNRECORDED_AT_LOCK = "cart_unrecorded_at_lock"


@require_POST
def cart_logout(request):
    # The page names the dose it had on screen, not recorded, when it locked itself: the login
    # page says so once. Drug and amount only: a locked screen shows no patient.
    unrecorded = " ".join(request.POST.get("unrecorded", "").split())[:120]
    logout(request)
    target = reverse("cart:login")
    if request.POST.get("reason") == "idle":
        target += "?locked=1"
        if unrecorded:
            request.session[UNRECORDED_AT_LOCK] = unrecorded
    return redirect(target)
