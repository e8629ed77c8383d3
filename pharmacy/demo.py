"""The demo hospital of fixtures/demo_hospital.json: loaded into the database (safe to repeat)
and drawn as printable barcodes under fixtures/barcodes/."""

import calendar
import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

import gs1
from hospital.models import Hospital
from pharmacy.models import (
    LotRecall,
    Medication,
    MedicationOrder,
    OrderStatus,
    Package,
    ScheduleKind,
    Substance,
)
from pharmacy.services import scheduled_doses_generate
from wards.models import Admission, Allergy, Bed, Patient, PatientNumber, Ward, Wristband
from wards.selectors import patient_by_mrn
from wards.services import (
    admission_discharge,
    admission_mrn,
    wristband_issue,
)

DEMO_FILE = settings.BASE_DIR / "fixtures" / "demo_hospital.json"
# Orders get stable ids from their demo key, so a second load finds them instead of adding more.
DEMO_NAMESPACE = uuid.UUID("5d7c3a52-8e0b-4f43-9f5b-6f1a4f0c2b11")


@dataclass
class DemoLot:
    gtin: str
    lot: str
    expiry_raw: str  # GS1 YYMMDD; day 00 means the last day of the month
    serials: list[str]
    recalled_reason: str = ""

    @property
    def expiry(self) -> date:
        year, month, day = (
            2000 + int(self.expiry_raw[:2]),
            int(self.expiry_raw[2:4]),
            int(self.expiry_raw[4:]),
        )
        return date(year, month, day or calendar.monthrange(year, month)[1])


@dataclass
class DemoSummary:
    staff: list[dict] = field(default_factory=list)
    patients: list[dict] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)


def read_demo(path: Path = DEMO_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def demo_counts(data: dict) -> dict[str, int]:
    """What the fixture holds, as the README and `demo_load` state it (a test keeps the README's
    numbers equal to these)."""
    patients = data["patients"]
    deceased = sum(1 for p in patients if "deceased_hours_ago" in p)
    discharged = sum(
        1 for p in patients if "discharged_days_ago" in p and "deceased_hours_ago" not in p
    )
    return {
        "wards": len(data["wards"]),
        "beds": sum(len(ward["beds"]) for ward in data["wards"]),
        "admitted": len(patients) - deceased - discharged,
        "discharged": discharged,
        "deceased": deceased,
        "medications": len(data["medications"]),
        "gtins": sum(len(m["packages"]) for m in data["medications"]),
        "recalled_lots": sum(1 for lot in demo_lots(data) if lot.recalled_reason),
        "orders": len(data["orders"]),
        "awaiting_verification": sum(
            1 for order in data["orders"] if order.get("status") == "pending_verification"
        ),
    }


def _upsert(model, lookup: dict, values: dict):
    """The row for `lookup` holding `values`, written only where it differs: a second load
    writes nothing (no UPDATE, no history row). Returns (row, created)."""
    row = model.objects.filter(**lookup).first()
    if row is None:
        return model.objects.create(**lookup, **values), True
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    if changed:
        row.save(update_fields=changed)
    return row, False


def _staff_load(spec: dict, wards: dict, hospitals: dict, tally):
    """A demo login, re-hashing a PIN or password only when it no longer matches: a new hash
    changes the session hash and logs out every cart and pharmacy session (which `make run`
    reloaded on each start)."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=spec["username"])
    tally("staff", created)
    changed = set()
    wanted = {
        "first_name": spec["first_name"],
        "last_name": spec["last_name"],
        "is_staff": spec.get("is_staff", False),
        "badge_gsrn": gs1.make_gsrn(spec["badge_ref"]) if spec["badge_ref"] else None,
    }
    for name, value in wanted.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.add(name)
    if spec["pin"] and not user.check_pin(spec["pin"]):
        user.set_pin(spec["pin"])
        changed.add("pin_hash")
    if spec.get("password"):
        if not user.check_password(spec["password"]):
            user.set_password(spec["password"])
            changed.add("password")
    elif user.has_usable_password():
        user.set_unusable_password()
        changed.add("password")
    if changed:
        user.save(update_fields=sorted(changed))
    # The role, and a marker group beside it where there is one (an instructor is a nurse who
    # may co-sign a student's records: hospital.models.Role.INSTRUCTOR).
    groups = [
        Group.objects.get_or_create(name=name)[0]
        for name in (spec["role"], *spec.get("extra_roles", ()))
    ]
    if set(user.groups.all()) != set(groups):
        user.groups.set(groups)
    for ward_code in spec["wards"]:
        if not wards[ward_code].staff.filter(pk=user.pk).exists():
            wards[ward_code].staff.add(user)
    # The hospitals she works in: named, or those of her wards.
    works_in = {hospitals[code] for code in spec.get("hospitals", ())} | {
        wards[code].hospital for code in spec["wards"]
    }
    if set(user.hospitals.all()) != works_in:
        user.hospitals.set(works_in)
    return user


def _gs1_expiry(value: str) -> str:
    if len(value) == 6 and value.isdigit():
        return value
    year, month, day = value.split("-")
    return f"{year[2:]}{month}{day}"


def demo_lots(data: dict) -> list[DemoLot]:
    lots = []
    for medication in data["medications"]:
        for package in medication["packages"]:
            gtin = gs1.normalize_gtin(gs1.make_gtin(package["gtin_ref"]))
            for lot in package.get("lots", []):
                serials = [f"{lot['lot'][:12]}S{n:03d}" for n in range(1, lot["serials"] + 1)]
                lots.append(
                    DemoLot(
                        gtin,
                        lot["lot"],
                        _gs1_expiry(lot["expiry"]),
                        serials,
                        lot.get("recalled", ""),
                    )
                )
    return lots


def _local(day_offset: int, at: time) -> datetime:
    tz = timezone.get_default_timezone()
    today = timezone.localdate()
    return datetime.combine(today + timedelta(days=day_offset), at, tzinfo=tz)


def _due_now_times() -> list[str]:
    """Twice a day, the first at the hour nearest to now, so a fresh demo always has a dose due."""
    nearest = (timezone.localtime() + timedelta(minutes=30)).replace(
        minute=0, second=0, microsecond=0
    )
    return sorted({f"{nearest.hour:02d}:00", f"{(nearest.hour + 12) % 24:02d}:00"})


def _due_an_hour_ago_times() -> list[str]:
    """Twice a day, the first an hour before the hour nearest to now: 30 to 90 minutes ago, so
    that it fell due before a transfer a few minutes ago (the transferred demo patient)."""
    nearest = (timezone.localtime() + timedelta(minutes=30)).replace(
        minute=0, second=0, microsecond=0
    )
    return sorted({f"{(nearest.hour - 1) % 24:02d}:00", f"{(nearest.hour + 11) % 24:02d}:00"})


# One step per kind of demo row, each counting what it created: a recipe read top to bottom.
@transaction.atomic
def demo_hospital_load(data: dict | None = None) -> DemoSummary:  # noqa: C901
    data = data or read_demo()
    summary = DemoSummary()
    count = summary.created

    def tally(name: str, created: bool):
        count[name] = count.get(name, 0) + int(created)

    hospitals = {}
    for spec in data["hospitals"]:
        hospitals[spec["code"]], created = _upsert(
            Hospital,
            {"code": spec["code"]},
            {
                "name": spec["name"],
                "gln": spec["gln_ref"] + gs1.gs1_check_digit(spec["gln_ref"]),
                "hl7_facility": spec["hl7_facility"],
            },
        )
        tally("hospitals", created)

    wards = {}
    for spec in data["wards"]:
        ward, created = _upsert(
            Ward,
            {"code": spec["code"]},
            {
                "hospital": hospitals[spec["hospital"]],
                "name": spec["name"],
                "window_minutes": spec["window_minutes"],
                "time_critical_window_minutes": spec["time_critical_window_minutes"],
            },
        )
        tally("wards", created)
        wards[ward.code] = ward
        for bed_code in spec["beds"]:
            tally("beds", Bed.objects.get_or_create(ward=ward, code=bed_code)[1])

    staff = {}
    for spec in data["staff"]:
        user = _staff_load(spec, wards, hospitals, tally)
        staff[user.username] = user
        summary.staff.append(
            {
                "username": user.username,
                "name": f"{user.last_name} {user.first_name}",
                "role": "+".join((spec["role"], *spec.get("extra_roles", ()))),
                "badge": user.badge_gsrn,
                "pin": spec["pin"],
                "password": spec.get("password"),
            }
        )
    # Each hospital's orders are verified, and its bands printed, by a pharmacist of its own.
    pharmacists = {
        hospital.pk: user
        for user in staff.values()
        if user.has_role("pharmacist")
        for hospital in user.hospitals.all()
    }
    pharmacist = pharmacists[hospitals[data["hospitals"][0]["code"]].pk]

    substances = {}
    for spec in data["substances"]:
        substances[spec["code"]], created = _upsert(
            Substance,
            {"code": spec["code"]},
            {
                "name": spec["name"],
                "allergy_class_code": spec.get("class_code", ""),
                "allergy_class_name": spec.get("class_name", ""),
                "site_lookback_hours": spec.get("site_lookback_hours"),
            },
        )
        tally("substances", created)

    medications = {}
    for spec in data["medications"]:
        per_value, per_unit = spec.get("per", ["1", "each"])
        medication, created = _upsert(
            Medication,
            {"code": spec["code"]},
            {
                "name": spec["name"],
                "substance": substances[spec["substance"]],
                "strength_value": Decimal(spec["strength"][0]),
                "strength_unit": spec["strength"][1],
                "per_value": Decimal(per_value),
                "per_unit": per_unit,
                "dose_form": spec["form"],
                "routes": spec["routes"],
                "high_alert": spec.get("high_alert", False),
                "time_critical": spec.get("time_critical", False),
                "controlled": spec.get("controlled", False),
                "analgesic": spec.get("analgesic", False),
                "divisible": spec.get("divisible", False),
                "requires_removal": spec.get("requires_removal", False),
                "wear_hours": spec.get("wear_hours"),
            },
        )
        tally("medications", created)
        medications[medication.code] = medication
        not_stocked = {hospitals[code] for code in spec.get("not_stocked_at", ())}
        if set(medication.not_stocked_at.all()) != not_stocked:
            medication.not_stocked_at.set(not_stocked)
        for package_spec in spec["packages"]:
            quantity, quantity_unit = package_spec.get("quantity", ["1", "each"])
            _package, created = _upsert(
                Package,
                {"gtin": gs1.normalize_gtin(gs1.make_gtin(package_spec["gtin_ref"]))},
                {
                    "medication": medication,
                    "quantity": Decimal(quantity),
                    "quantity_unit": quantity_unit,
                    "description": package_spec.get("description", ""),
                    "manufacturer": package_spec.get("manufacturer", ""),
                    "registration_number": package_spec.get("registration_number", ""),
                    "hospital_repackaged": package_spec.get("hospital_repackaged", False),
                },
            )
            tally("packages", created)

    for lot in demo_lots(data):
        if lot.recalled_reason:
            tally(
                "lot_recalls",
                LotRecall.objects.get_or_create(
                    package=Package.objects.get(gtin=lot.gtin),
                    lot=lot.lot,
                    defaults={
                        "recalled_at": timezone.now(),
                        "reason": lot.recalled_reason,
                        "recorded_by": pharmacist,
                    },
                )[1],
            )

    admissions = {}
    for spec in data["patients"]:
        # Registered by the hospital that admits her (its HIS issued the MRN).
        registering = wards[spec["ward"]].hospital
        values = {
            "gsrn": gs1.make_gsrn(spec["gsrn_ref"]),
            "full_name": spec["full_name"],
            "date_of_birth": date.fromisoformat(spec["date_of_birth"]),
            "sex": spec["sex"],
        }
        known = patient_by_mrn(hospital_id=registering.pk, mrn=spec["mrn"])
        if known is None:
            # Written directly like the demo's other rows, with her number as patient_register
            # writes it: its validation queries cost more than the rest of a demo load, which
            # most tests run.
            patient = Patient.objects.create(hospital=registering, mrn=spec["mrn"], **values)
            PatientNumber.objects.create(patient=patient, hospital=registering, mrn=spec["mrn"])
            created = True
        else:
            patient, created = _upsert(Patient, {"pk": known.pk}, values)
        tally("patients", created)
        if "weight_kg" in spec and patient.weight_kg is None:
            # weighed on the morning of admission; a later weighing is not overwritten
            patient.weight_kg = Decimal(spec["weight_kg"])
            patient.weight_measured_at = _local(-spec["admitted_days_ago"], time(9, 30))
            patient.save(update_fields=["weight_kg", "weight_measured_at"])
        for allergy in spec["allergies"]:
            _upsert(
                Allergy,
                {"patient": patient, "allergen_code": allergy["code"]},
                {
                    "allergen_name": allergy["name"],
                    "severity": allergy["severity"],
                    "reaction": allergy["reaction"],
                },
            )
        admission = patient.admissions.order_by("admitted_at").first()
        if admission is None:
            ward = wards[spec["ward"]]
            admission = Admission.objects.create(
                patient=patient,
                ward=ward,
                hospital_id=ward.hospital_id,
                mrn=admission_mrn(patient=patient, hospital_id=ward.hospital_id),
                bed=Bed.objects.get(ward=ward, code=spec["bed"]) if spec["bed"] else None,
                admitted_at=_local(-spec["admitted_days_ago"], time(9, 0)),
            )
            wristband_issue(admission=admission, printed_by=pharmacists[ward.hospital_id])
            if "discharged_days_ago" in spec:
                admission_discharge(
                    admission=admission,
                    discharged_at=_local(-spec["discharged_days_ago"], time(10, 0)),
                )
            if moved := spec.get("transferred"):
                # Moved here from another ward minutes ago (as the HIS's A02 records it).
                from_ward = wards[moved["from_ward"]]
                Admission.objects.filter(pk=admission.pk).update(
                    transferred_at=timezone.now() - timedelta(minutes=moved["minutes_ago"]),
                    transferred_from=from_ward,
                    transferred_from_bed=Bed.objects.get(ward=from_ward, code=moved["from_bed"]),
                )
                admission.refresh_from_db()
            if "deceased_hours_ago" in spec:
                patient.deceased_at = timezone.now() - timedelta(hours=spec["deceased_hours_ago"])
                patient.save(update_fields=["deceased_at"])
            tally("admissions", True)
        admissions[patient.mrn] = admission
        band = Wristband.objects.filter(patient=patient).order_by("-instance").first()
        summary.patients.append(
            {
                "mrn": patient.mrn,
                "name": patient.full_name,
                "date_of_birth": patient.date_of_birth.isoformat(),
                "ward": admission.ward.code,
                "bed": admission.bed.code if admission.bed else "",
                "gsrn": patient.gsrn,
                "band_instance": band.instance,
                "band_active": band.voided_at is None,
                "note": spec.get("_note", ""),
            }
        )

    for spec in data["orders"]:
        _order_load(
            spec,
            admissions[spec["mrn"]],
            medications[spec["medication"]],
            pharmacists[admissions[spec["mrn"]].ward.hospital_id],
            tally,
        )

    scheduled_doses_generate()
    return summary


def _order_load(spec, admission, medication, pharmacist, tally) -> None:
    external_id = uuid.uuid5(DEMO_NAMESPACE, spec["key"])
    if MedicationOrder.objects.filter(external_id=external_id).exists():
        return
    schedule = spec["schedule"]
    fields = {"schedule_kind": ScheduleKind.TIMES_OF_DAY}
    if schedule == "due_now":
        fields["times_of_day"] = _due_now_times()
    elif schedule == "due_an_hour_ago":
        fields["times_of_day"] = _due_an_hour_ago_times()
    elif "times" in schedule:
        fields["times_of_day"] = schedule["times"]
    elif schedule.get("on_call"):
        fields["schedule_kind"] = ScheduleKind.ON_CALL
    elif "interval_hours" in schedule:
        fields.update(
            schedule_kind=ScheduleKind.INTERVAL, interval_hours=schedule["interval_hours"]
        )
    else:
        fields.update(
            schedule_kind=ScheduleKind.PRN,
            prn_indication=schedule["prn"],
            prn_indications=schedule.get("indications", []),
            prn_min_interval_minutes=schedule["min_interval_minutes"],
            prn_max_per_24h=Decimal(schedule["max_per_24h"]),
        )
    if infusion := spec.get("infusion"):
        fields.update(
            volume_ml=Decimal(infusion["volume_ml"]),
            rate_ml_h=Decimal(infusion["rate_ml_h"]),
            additives=infusion.get("additives", ""),
        )
    fields.update(
        assessments_required=spec.get("assessments", []),
        hold_parameters=spec.get("hold_parameters", []),
    )
    for per_kg in ("dose_per_kg", "max_dose_per_kg"):
        if per_kg in spec:
            fields[per_kg] = Decimal(spec[per_kg])
    status = spec.get("status", OrderStatus.ACTIVE)
    start_at = admission.admitted_at + timedelta(hours=1)
    verbal = spec.get("verbal")
    if verbal:
        # A verbal order a nurse documented that long ago, verified since, never co-signed.
        start_at = timezone.now() - timedelta(hours=verbal["hours_ago"])
        fields.update(
            verbal_kind=verbal["kind"],
            read_back_confirmed=True,
            documented_by=get_user_model().objects.get(username=verbal["documented_by"]),
        )
    verified = status != OrderStatus.PENDING_VERIFICATION
    order = MedicationOrder.objects.create(
        external_id=external_id,
        admission=admission,
        hospital_id=admission.hospital_id,
        medication=medication,
        dose_value=Decimal(spec["dose"][0]),
        dose_unit=spec["dose"][1],
        route=spec["route"],
        start_at=start_at,
        status=status,
        status_reason=spec.get("status_reason", ""),
        prescriber_name=verbal["prescriber"] if verbal else "BS. Nguyễn Hữu Thắng (demo)",
        instructions=spec.get("note", ""),
        verified_by=pharmacist if verified else None,
        verified_at=start_at + timedelta(minutes=20) if verified else None,
        status_changed_at=timezone.now()
        if status not in (OrderStatus.ACTIVE, OrderStatus.PENDING_VERIFICATION)
        else None,
        **fields,
    )
    if verbal:  # documented when it started, not when the demo was loaded
        MedicationOrder.objects.filter(pk=order.pk).update(created_at=start_at)
    tally("orders", True)


ROLE_TITLES = {
    "nurse": "Điều dưỡng / Nurse",
    "charge_nurse": "Điều dưỡng trưởng / Charge nurse",
    "pharmacist": "Dược sĩ / Pharmacist",
    "student_nurse": "Sinh viên điều dưỡng / Student nurse",
}


def _unit_dose_element_string(lot: DemoLot, serial: str) -> str:
    element_string = gs1.medication_element_string(
        gs1.MedicationPayload(gtin=lot.gtin, expiry=lot.expiry, lot=lot.lot, serial=serial)
    )
    # A day-00 expiry ("end of that month") is printed as such, not as the date it stands for.
    return element_string.replace(f"17{lot.expiry:%y%m%d}", f"17{lot.expiry_raw}", 1)


def demo_barcodes_write(directory: Path, data: dict | None = None) -> dict[str, dict]:
    """Draw every demo wristband, badge, unit-dose label and retail EAN-13; return the index."""
    from gs1 import labels

    data = data or read_demo()
    directory.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict] = {}

    def write(name: str, content: bytes, entry: dict):
        (directory / name).write_bytes(content)
        index[name] = entry

    for patient in data["patients"]:
        payload = gs1.WristbandPayload(gsrn=gs1.make_gsrn(patient["gsrn_ref"]), instance=1)
        element_string = gs1.wristband_element_string(payload)
        entry = {
            "kind": "wristband",
            "element_string": element_string,
            "mrn": patient["mrn"],
            "gsrn": payload.gsrn,
            "instance": payload.instance,
        }
        for fmt in ("png", "svg"):
            write(
                f"wristband-{patient['mrn']}.{fmt}",
                labels.wristband_label(
                    element_string=element_string,
                    full_name=patient["full_name"],
                    date_of_birth=date.fromisoformat(patient["date_of_birth"]),
                    mrn=patient["mrn"],
                    sex=patient["sex"],
                    fmt=fmt,
                ),
                entry,
            )

    for person in data["staff"]:
        if not person["badge_ref"]:
            continue
        payload = gs1.BadgePayload(gsrn=gs1.make_gsrn(person["badge_ref"]))
        element_string = gs1.badge_element_string(payload)
        entry = {
            "kind": "badge",
            "element_string": element_string,
            "username": person["username"],
            "gsrn": payload.gsrn,
        }
        for fmt in ("png", "svg"):
            write(
                f"badge-{person['username']}.{fmt}",
                labels.badge_label(
                    element_string=element_string,
                    full_name=f"{person['last_name']} {person['first_name']}",
                    role_title=ROLE_TITLES[person["role"]],
                    fmt=fmt,
                ),
                entry,
            )

    names = {
        gs1.normalize_gtin(gs1.make_gtin(package["gtin_ref"])): medication["name"]
        for medication in data["medications"]
        for package in medication["packages"]
    }
    for lot in demo_lots(data):
        for serial in lot.serials:
            element_string = _unit_dose_element_string(lot, serial)
            write(
                f"unit-dose-{lot.gtin}-{serial}.png",
                labels.unit_dose_label(
                    element_string=element_string,
                    medication_name=names[lot.gtin],
                    strength_text="",
                    lot=lot.lot,
                    expiry=lot.expiry,
                    fmt="png",
                ),
                {
                    "kind": "medication",
                    "element_string": element_string,
                    "gtin": lot.gtin,
                    "lot": lot.lot,
                    "expiry": lot.expiry.isoformat(),
                    "serial": serial,
                    "recalled": bool(lot.recalled_reason),
                },
            )

    for gtin in sorted({lot.gtin for lot in demo_lots(data) if lot.gtin.startswith("0893")}):
        image = labels.ean13_image(gtin[1:])
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", dpi=(300, 300))
        write(
            f"ean13-{gtin[1:]}.png",
            buffer.getvalue(),
            {"kind": "medication", "element_string": gtin[1:], "gtin": gtin},
        )

    (directory / "index.json").write_text(
        json.dumps(index, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return index
