"""What printing does besides drawing: a new wristband is issued (voiding the old one) in the
same transaction that renders it, and every unit-dose label of a run gets its own serial."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import translation

import gs1
from backoffice.printing import pdf
from backoffice.printing.selectors import staff_display_name
from hospital.models import Role, User
from pharmacy.models import DoseUnit, Medication, Package
from wards.models import Admission, Patient, Wristband
from wards.services import wristband_issue

MAX_LABELS_PER_RUN = 500
MAX_WRISTBANDS_PER_PRINT = 100

# Crockford's base32: no I, L, O or U, so a serial typed from the label cannot be misread.
_SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RUN_ID_LENGTH = 10  # 50 random bits per run


@dataclass(frozen=True)
class PrintedWristbands:
    pdf: bytes
    bands: list[Wristband]


def _in_hospital_language(text: Callable[[], object]) -> str:
    # Bands and badges are read by everyone on the ward: the hospital's language, not the user's.
    with translation.override(settings.LANGUAGE_CODE):
        return str(text())


def wristband_label(patient: Patient, band: Wristband) -> pdf.WristbandLabel:
    return pdf.WristbandLabel(
        element_string=gs1.wristband_element_string(
            gs1.WristbandPayload(gsrn=patient.gsrn, instance=band.instance)
        ),
        full_name=patient.full_name,
        date_of_birth=patient.date_of_birth,
        # Her number at the admitting hospital: the one its staff and HIS know her by.
        mrn=band.admission.mrn,
        sex=_in_hospital_language(patient.get_sex_display),
    )


@transaction.atomic
def wristbands_print(*, admissions: Iterable[Admission], printed_by: User) -> PrintedWristbands:
    """Issue a new band for each open admission (voiding its current one) and draw them all, one
    per page, in ward and bed order. Nothing is issued unless the PDF is drawn: a band voided
    without its replacement on paper would leave the patient with no valid band.

    Patients are locked in primary-key order (``wristband_issue`` locks each), so two prints of
    overlapping selections cannot deadlock.
    """
    admissions = sorted(admissions, key=lambda admission: admission.patient_id)
    if len(admissions) > MAX_WRISTBANDS_PER_PRINT:
        raise ValueError(f"at most {MAX_WRISTBANDS_PER_PRINT} wristbands at a time")
    bands = [
        wristband_issue(admission=admission, printed_by=printed_by) for admission in admissions
    ]
    by_admission = {admission.pk: admission for admission in admissions}

    def place(band: Wristband) -> tuple[str, str, str]:
        admission = by_admission[band.admission_id]
        return (
            admission.ward.code,
            admission.bed.code if admission.bed else "",
            band.patient.full_name,
        )

    bands.sort(key=place)
    content = pdf.wristbands_pdf([wristband_label(band.patient, band) for band in bands])
    return PrintedWristbands(pdf=content, bands=bands)


def badge_label(user: User) -> pdf.BadgeLabel:
    """ValueError if the user has no badge GSRN or a wrong check digit."""
    if not user.badge_gsrn:
        raise ValueError(f"{user.username} has no badge GSRN")
    roles = [label for value, label in Role.choices if value in user.roles]
    return pdf.BadgeLabel(
        element_string=gs1.badge_element_string(gs1.BadgePayload(gsrn=user.badge_gsrn)),
        full_name=staff_display_name(user),
        role_title=_in_hospital_language(lambda: " · ".join(str(role) for role in roles)),
    )


def badges_print(*, users: Iterable[User]) -> bytes:
    return pdf.badges_pdf([badge_label(user) for user in users])


def strength_text(medication: Medication) -> str:
    strength = f"{medication.strength_value.normalize():f} {medication.strength_unit}"
    if medication.per_value == 1 and medication.per_unit == DoseUnit.EACH:
        return strength
    per = medication.per_value.normalize()
    per_text = medication.per_unit if per == 1 else f"{per:f} {medication.per_unit}"
    return f"{strength}/{per_text}"


def unit_dose_serials(count: int) -> list[str]:
    """``count`` serials for one run: a random run id and the label's number, e.g. "7K3QX9M2RD-0001".

    Nothing records the serials a run printed, so they must never repeat across runs: the
    bedside refuses a GTIN + serial that was already given (SERIAL_ALREADY_USED). Two runs share
    a run id with a chance of one in 2^50.
    """
    if not 1 <= count <= MAX_LABELS_PER_RUN:
        raise ValueError(f"a run has 1 to {MAX_LABELS_PER_RUN} labels, not {count}")
    run_id = "".join(secrets.choice(_SERIAL_ALPHABET) for _ in range(_RUN_ID_LENGTH))
    return [f"{run_id}-{number:04d}" for number in range(1, count + 1)]


def unit_dose_run(
    *, package: Package, lot: str, expiry: date, count: int
) -> list[pdf.UnitDoseLabel]:
    """The labels of one repackaging run: same GTIN, lot and expiry, a new serial on each."""
    medication = package.medication
    return [
        pdf.UnitDoseLabel(
            element_string=gs1.medication_element_string(
                gs1.MedicationPayload(gtin=package.gtin, expiry=expiry, lot=lot, serial=serial)
            ),
            medication_name=medication.name,
            strength_text=strength_text(medication),
        )
        for serial in unit_dose_serials(count)
    ]


def unit_dose_run_print(*, package: Package, lot: str, expiry: date, count: int) -> bytes:
    return pdf.unit_dose_labels_pdf(
        unit_dose_run(package=package, lot=lot, expiry=expiry, count=count)
    )
