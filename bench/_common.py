"""What `bench.administer` and `bench.mar_scale` share: their own PostgreSQL database, Django set up
on it with `bench.settings`, a synthetic hospital generated in bulk, percentiles, and SVG charts.

The hospital is made with `bulk_create` for the few thousand rows that carry identities (wards,
beds, staff with badges and PINs, patients, admissions, wristbands, orders) and with set-based
`INSERT … SELECT` for the bulk (scheduled doses, administrations and their units), which is what
makes a million administrations take seconds rather than minutes. No service runs per row.
"""

from __future__ import annotations

import html
import math
import os
import platform
import random
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
CHARTS_DIR = ROOT / "bench" / "charts"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
PIN = "246813"
LOT = "BENCHLOT1"
EXPIRY = date(2030, 12, 31)
SYMBOLOGY_GS1_128 = "]C1"
SYMBOLOGY_DATAMATRIX = "]d2"

FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng")
MIDDLE_NAMES = ("Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu")
GIVEN_NAMES = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Mai", "Nam", "Phúc")


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 500 values is the 495th), as in bench.decode."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


def mark(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(packages: Sequence[str] = ("Django", "gunicorn", "psycopg")) -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = ", ".join(f"{package} {_version(package)}" for package in packages)
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}, {versions}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine shows in the figures."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


# --------------------------------------------------------------------------- the database


def server_url() -> str:
    """The PostgreSQL server to create bench databases on: `BENCH_POSTGRES_URL`, else local."""
    return os.environ.get("BENCH_POSTGRES_URL", DEFAULT_SERVER)


def database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def recreate_database(server: str, name: str) -> str:
    """Drop and create `name` on the server (never the server's own database); its URL.

    With `BENCH_TEMPLATE_DATABASE` set (tests/bench: a database migrated once per test session),
    the new database is a copy of it, so `migrate()` finds nothing to do: a migration from empty
    costs 15–30 s, and every smoke run would pay it."""
    import psycopg
    from psycopg import sql

    if not name.startswith("bench_"):
        raise ValueError(f"bench databases are named bench_…: {name!r}")
    template = os.environ.get("BENCH_TEMPLATE_DATABASE", "")
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(create)
    return database_url(server, name)


def drop_database(server: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def django_setup(db_url: str) -> None:
    """Django in this process on the bench database, with the settings gunicorn will use."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = db_url
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def analyze() -> None:
    """What autovacuum would have done by the time anyone reads a table this size."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


# --------------------------------------------------------------------------- the hospital


@dataclass(frozen=True)
class HospitalSpec:
    """Admitted patients fill every bed; each has one order per medication (a different substance
    each), given every `every_hours` around an anchor (the generation time): `doses_before` doses
    before it are given and recorded, the anchor's own dose and `doses_after` more are open."""

    wards: int
    beds_per_ward: int
    orders_per_patient: int
    nurses: int
    doses_before: int = 4
    doses_after: int = 2
    every_hours: int = 6


@dataclass(frozen=True)
class Medicine:
    id: int
    gtin: str
    strength_mg: int


@dataclass(frozen=True)
class Inpatient:
    mrn: str
    gsrn: str
    ward: str
    admission_id: int

    @property
    def wristband_scan(self) -> str:
        import gs1

        payload = gs1.WristbandPayload(gsrn=self.gsrn, instance=1)
        return SYMBOLOGY_GS1_128 + gs1.wristband_element_string(payload)


@dataclass(frozen=True)
class Nurse:
    username: str
    badge: str
    hospital: str = "BENCH"  # the code of the hospital whose wards she works


@dataclass
class Hospital:
    spec: HospitalSpec
    anchor: datetime
    wards: list[str] = field(default_factory=list)
    medicines: list[Medicine] = field(default_factory=list)
    patients: list[Inpatient] = field(default_factory=list)
    nurses: list[Nurse] = field(default_factory=list)
    pharmacist_id: int = 0
    history_admissions: int = 0


def unit_scan(medicine: Medicine, serial: str) -> str:
    """A unit-dose DataMatrix with GTIN, expiry, lot and a serial of its own."""
    import gs1

    payload = gs1.MedicationPayload(gtin=medicine.gtin, expiry=EXPIRY, lot=LOT, serial=serial)
    return SYMBOLOGY_DATAMATRIX + gs1.medication_element_string(payload)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"


def _insert_select(model, values: dict[str, str], rest: str, params: dict) -> int:
    """`INSERT INTO <model> (…) SELECT <values> <rest>`; the number of rows inserted.

    `values` maps field attnames to SQL expressions. Every other concrete field gets NULL or its
    Python default as a parameter; a NOT NULL field with no default is an error that names it, so
    a new column fails loudly here rather than as a bare IntegrityError."""
    from django.db import connection

    columns, expressions = [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(connection.ops.quote_name(model_field.column))
        if model_field.attname in values:
            expressions.append(values[model_field.attname])
        elif model_field.null and not model_field.has_default():
            expressions.append("NULL")
        elif (default := model_field.get_default()) is not None:
            # The field's default, or "" for a blank text field, as Django itself would save.
            name = f"default_{model_field.attname}"
            params[name] = model_field.get_db_prep_save(default, connection)
            expressions.append(f"%({name})s")
        else:
            raise ValueError(f"{model.__name__}.{model_field.name} needs a value in the bench")
    unknown = set(values) - {f.attname for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    statement = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {rest}"
    )
    with client_side_cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


@contextmanager
def client_side_cursor():
    """A cursor that binds parameters in the client, whatever the settings: the generator's
    untyped parameters (generate_series bounds, interval arithmetic) cannot be typed by the
    server, which the app's server-side binding asks it to do (hospital/settings/base.py)."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as cursor:
        yield cursor


def _max_id(model) -> int:
    from django.db.models import Max

    return model.objects.aggregate(top=Max("pk"))["top"] or 0


def hospital_generate(spec: HospitalSpec, *, seed: int = 2026, tenants: int = 1) -> Hospital:
    """The admitted hospital of `spec`, in one transaction. The anchor is now. With `tenants`
    above one, the province: that many hospitals (H1, H2, …), each with `spec.wards` wards
    (H1W01, …) and the nurses of its own (nurse n works in hospital n mod `tenants`); the
    formulary and the pharmacist are shared, as a province's are."""
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    import gs1
    from hospital.models import Hospital as Tenant
    from hospital.models import Role, User
    from pharmacy.models import (
        DoseForm,
        DoseUnit,
        Medication,
        MedicationOrder,
        OrderStatus,
        Package,
        Route,
        ScheduleKind,
        Substance,
    )
    from wards.models import (
        Admission,
        Allergy,
        AllergySeverity,
        Bed,
        Patient,
        PatientNumber,
        Ward,
        Wristband,
    )

    rng = random.Random(seed)  # noqa: S311 - synthetic names, not secrets
    anchor = timezone.now().replace(microsecond=0)
    admitted_at = anchor - timedelta(hours=spec.every_hours * (spec.doses_before + 1))
    hospital = Hospital(spec=spec, anchor=anchor)
    with transaction.atomic():
        substances = Substance.objects.bulk_create(
            Substance(code=f"bench-substance-{i:02d}", name=f"Hoạt chất {i:02d}")
            for i in range(spec.orders_per_patient)
        )
        medications = Medication.objects.bulk_create(
            Medication(
                code=f"bench-med-{i:02d}",
                name=f"Thuốc {i:02d} {(i + 1) * 50} mg",
                substance=substance,
                strength_value=Decimal((i + 1) * 50),
                strength_unit=DoseUnit.MG,
                dose_form=DoseForm.TABLET,
                routes=[Route.PO],
            )
            for i, substance in enumerate(substances)
        )
        packages = Package.objects.bulk_create(
            Package(
                gtin=gs1.normalize_gtin(gs1.make_gtin(f"893999{i:06d}")),
                medication=medication,
                description=f"Vỉ {medication.name}",
            )
            for i, medication in enumerate(medications)
        )
        hospital.medicines = [
            Medicine(id=m.pk, gtin=p.gtin, strength_mg=int(m.strength_value))
            for m, p in zip(medications, packages, strict=True)
        ]

        pharmacist = User(username="bench-pharmacist", first_name="Dược sĩ", last_name="Bench")
        pharmacist.set_pin(PIN)
        nurses = []
        for n in range(spec.nurses):
            badge = gs1.make_gsrn(f"95299000{n:09d}")
            nurse = User(username=f"bench-nurse-{n:03d}", first_name=_name(rng), badge_gsrn=badge)
            nurse.set_pin(PIN)
            nurses.append(nurse)
        pharmacist, *nurses = User.objects.bulk_create([pharmacist, *nurses])
        groups = {g.name: g for g in Group.objects.filter(name__in=[Role.NURSE, Role.PHARMACIST])}
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=pharmacist.pk, group_id=groups[Role.PHARMACIST].pk)]
            + [User.groups.through(user_id=u.pk, group_id=groups[Role.NURSE].pk) for u in nurses]
        )
        hospital.pharmacist_id = pharmacist.pk

        tenant_codes = ["BENCH"] if tenants == 1 else [f"H{t + 1}" for t in range(tenants)]
        hospitals = Tenant.objects.bulk_create(
            Tenant(
                code=code,
                name=f"Bệnh viện {code}",
                gln=gs1.make_gtin(f"89369999{t:04d}"),
                hl7_facility=code,
            )
            for t, code in enumerate(tenant_codes)
        )
        for tenant in hospitals:
            tenant.staff.add(pharmacist)
        prefix = "" if tenants == 1 else "{}"
        wards = Ward.objects.bulk_create(
            Ward(code=code, name=f"Khoa {code}", hospital=tenant)
            for tenant in hospitals
            for code in (f"{prefix.format(tenant.code)}W{w + 1:02d}" for w in range(spec.wards))
        )
        hospital.wards = [ward.code for ward in wards]
        # Every bench nurse works every ward of her hospital: the benchmark measures the bedside
        # path, not break-the-glass logging (scanning/access.py).
        Ward.staff.through.objects.bulk_create(
            Ward.staff.through(ward_id=ward.pk, user_id=nurse.pk)
            for ward in wards
            for n, nurse in enumerate(nurses)
            if ward.hospital_id == hospitals[n % tenants].pk
        )
        hospital.nurses = [
            Nurse(username=u.username, badge=u.badge_gsrn, hospital=tenant_codes[n % tenants])
            for n, u in enumerate(nurses)
        ]
        beds = Bed.objects.bulk_create(
            Bed(ward=ward, code=f"{ward.code}-{b + 1:02d}")
            for ward in wards
            for b in range(spec.beds_per_ward)
        )
        hospital_of_ward = {ward.pk: ward.hospital_id for ward in wards}
        patients = Patient.objects.bulk_create(
            Patient(
                mrn=f"BN{n + 1:010d}",
                hospital_id=hospital_of_ward[bed.ward_id],
                gsrn=gs1.make_gsrn(f"95299100{n + 1:09d}"),
                full_name=_name(rng),
                date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randrange(25_000)),
                sex=rng.choice("FM"),
            )
            for n, bed in enumerate(beds)
        )
        PatientNumber.objects.bulk_create(
            PatientNumber(hospital_id=p.hospital_id, mrn=p.mrn, patient=p) for p in patients
        )
        admissions = Admission.objects.bulk_create(
            Admission(
                patient=patient,
                ward_id=bed.ward_id,
                hospital_id=hospital_of_ward[bed.ward_id],
                bed=bed,
                mrn=patient.mrn,
                admitted_at=admitted_at,
            )
            for patient, bed in zip(patients, beds, strict=True)
        )
        Wristband.objects.bulk_create(
            Wristband(
                patient=a.patient,
                admission=a,
                instance=1,
                printed_at=admitted_at,
                printed_by=pharmacist,
            )
            for a in admissions
        )
        # An allergy to a class nothing in this formulary belongs to: read by every check, no finding.
        Allergy.objects.bulk_create(
            Allergy(
                patient=patient,
                allergen_code="penicillins",
                allergen_name="Nhóm penicillin",
                severity=AllergySeverity.MODERATE,
            )
            for patient in patients
        )
        ward_codes = {ward.pk: ward.code for ward in wards}
        hospital.patients = [
            Inpatient(mrn=p.mrn, gsrn=p.gsrn, ward=ward_codes[a.ward_id], admission_id=a.pk)
            for p, a in zip(patients, admissions, strict=True)
        ]
        first_order = _max_id(MedicationOrder) + 1
        MedicationOrder.objects.bulk_create(
            MedicationOrder(
                admission=admission,
                hospital_id=admission.hospital_id,
                medication=medication,
                dose_value=medication.strength_value,
                dose_unit=DoseUnit.MG,
                route=Route.PO,
                schedule_kind=ScheduleKind.INTERVAL,
                interval_hours=spec.every_hours,
                start_at=admitted_at,
                status=OrderStatus.ACTIVE,
                prescriber_name="BS. Bench",
                verified_by=pharmacist,
                verified_at=admitted_at,
            )
            for admission in admissions
            for medication in medications
        )
        _doses_and_records(
            first_order=first_order,
            start="%(anchor)s",
            steps=range(-spec.doses_before, spec.doses_after + 1),
            given="k < 0",
            params={"anchor": anchor, "every": spec.every_hours},
            nurse_ids=[u.pk for u in nurses],
        )
    return hospital


def _doses_and_records(
    *,
    first_order: int,
    start: str,
    steps: range,
    given: str,
    params: dict,
    nurse_ids: list[int],
    limit: int | None = None,
) -> int:
    """Scheduled doses for the orders from `first_order` on, at `start` + k × every hours for k in
    `steps` (`given` is an SQL condition on k); then one administration and one administered unit
    per given dose. At most `limit` doses. Returns the number of administrations."""
    from pharmacy.models import ScheduledDose
    from scanning.models import AdministeredUnit, Administration

    first_dose = _max_id(ScheduledDose) + 1
    first_record = _max_id(Administration) + 1
    params = {
        **params,
        "first_order": first_order,
        "k_from": steps.start,
        "k_to": steps.stop - 1,
        "nurses": nurse_ids,
    }
    _insert_select(
        ScheduledDose,
        {
            "external_id": "gen_random_uuid()",
            "created_at": f"{start}",
            "order_id": "o.id",
            "due_at": f"{start} + k * %(every)s * interval '1 hour'",
            "state": f"CASE WHEN {given} THEN 'given' ELSE 'scheduled' END",
        },
        "FROM pharmacy_medicationorder o JOIN wards_admission a ON a.id = o.admission_id "
        "CROSS JOIN generate_series(%(k_from)s, %(k_to)s) AS k "
        "WHERE o.id >= %(first_order)s ORDER BY o.id, k"
        + (" LIMIT %(limit)s" if limit is not None else ""),
        {**params, "limit": limit},
    )
    recorded = _insert_select(
        Administration,
        {
            "external_id": "gen_random_uuid()",
            "created_at": "d.due_at + interval '5 minutes'",
            "patient_id": "a.patient_id",
            "admission_id": "a.id",
            "order_id": "o.id",
            "scheduled_dose_id": "d.id",
            "status": "'completed'",
            "performer_id": "(%(nurses)s::bigint[])[1 + d.id %% cardinality(%(nurses)s::bigint[])]",
            "administered_at": "d.due_at + interval '5 minutes'",
            "amount": "o.dose_value",
            "unit": "o.dose_unit",
            "route": "o.route",
            "cart": "'bench'",
        },
        "FROM pharmacy_scheduleddose d JOIN pharmacy_medicationorder o ON o.id = d.order_id "
        "JOIN wards_admission a ON a.id = o.admission_id "
        "WHERE d.id >= %(first_dose)s AND d.state = 'given' ORDER BY d.id",
        {**params, "first_dose": first_dose},
    )
    _insert_select(
        AdministeredUnit,
        {
            "external_id": "gen_random_uuid()",
            "created_at": "r.created_at",
            "administration_id": "r.id",
            "package_id": "p.id",
            "gtin": "p.gtin",
            "lot": f"'{LOT}'",
            "expiry": "%(expiry)s",
            "serial": "'H' || r.id",
            "scanned": "true",
        },
        "FROM scanning_administration r JOIN pharmacy_medicationorder o ON o.id = r.order_id "
        "JOIN pharmacy_package p ON p.medication_id = o.medication_id "
        "WHERE r.id >= %(first_record)s ORDER BY r.id",
        {"first_record": first_record, "expiry": EXPIRY},
    )
    return recorded


def history_add(hospital: Hospital, administrations: int, *, days: int = 5) -> int:
    """Discharged admissions, each with one order per medication given every `every_hours` for
    `days` days, until exactly `administrations` more are recorded. Each new admission is an hour
    before the previous one, all ending at least two days before the anchor, on beds all over
    the hospital (the wards measured included). Returns the administrations added."""
    from django.db import transaction

    from hospital.models import Hospital as Tenant
    from pharmacy.models import MedicationOrder
    from wards.models import Admission, Patient, PatientNumber, Wristband

    if Tenant.objects.count() != 1:
        raise ValueError("history_add generates one hospital's past patients")
    spec = hospital.spec
    per_admission = spec.orders_per_patient * days * 24 // spec.every_hours
    count = math.ceil(administrations / per_admission)
    if count == 0:
        return 0
    first = hospital.history_admissions
    params = {
        "anchor": hospital.anchor,
        "first": first,
        "last": first + count - 1,
        "days": days,
        "pharmacist": hospital.pharmacist_id,
        "every": spec.every_hours,
    }
    # A past patient n: an MRN and a GSRN of its own (with its GS1 check digit, computed in SQL).
    gsrn_body = "'95299200' || lpad(n::text, 9, '0')"
    check_digit = (
        f"((10 - (SELECT sum(substr({gsrn_body}, i, 1)::int * (CASE WHEN i %% 2 = 1 THEN 3 "  # noqa: S608 - constant SQL
        "ELSE 1 END)) FROM generate_series(1, 17) AS i) %% 10) %% 10)::text"
    )
    admitted = "%(anchor)s - (%(days)s + 2) * interval '1 day' - n * interval '1 hour'"
    with transaction.atomic():
        first_patient = _max_id(Patient) + 1
        _insert_select(
            Patient,
            {
                "external_id": "gen_random_uuid()",
                "created_at": admitted,
                "mrn": "'BH' || lpad(n::text, 10, '0')",
                # History is generated for the one-hospital bench (bench.mar_scale).
                "hospital_id": "(SELECT min(id) FROM hospital_hospital)",
                "gsrn": f"{gsrn_body} || {check_digit}",
                "full_name": "'Người bệnh cũ ' || n",
                "date_of_birth": "date '1950-01-01' + (n * 37 %% 20000)",
                "sex": "CASE WHEN n %% 2 = 0 THEN 'F' ELSE 'M' END",
            },
            "FROM generate_series(%(first)s, %(last)s) AS n ORDER BY n",
            params,
        )
        _insert_select(
            PatientNumber,
            {
                "external_id": "gen_random_uuid()",
                "created_at": "p.created_at",
                "hospital_id": "p.hospital_id",
                "mrn": "p.mrn",
                "patient_id": "p.id",
            },
            "FROM wards_patient p WHERE p.id >= %(first_patient)s ORDER BY p.id",
            {**params, "first_patient": first_patient},
        )
        first_admission = _max_id(Admission) + 1
        _insert_select(
            Admission,
            {
                "external_id": "gen_random_uuid()",
                "created_at": admitted,
                "patient_id": "p.id",
                "mrn": "p.mrn",
                "ward_id": "b.ward_id",
                "hospital_id": "b.hospital_id",
                "bed_id": "b.id",
                "admitted_at": admitted,
                "discharged_at": f"{admitted} + %(days)s * interval '1 day'",
            },
            "FROM (SELECT id, mrn, substr(mrn, 3)::bigint AS n FROM wards_patient "
            "WHERE id >= %(first_patient)s) AS p "
            "JOIN (SELECT bed.id, bed.ward_id, ward.hospital_id, "
            "row_number() OVER (ORDER BY bed.id) - 1 AS slot "
            "FROM wards_bed bed JOIN wards_ward ward ON ward.id = bed.ward_id) AS b "
            "ON b.slot = p.n %% (SELECT count(*) FROM wards_bed) "
            "ORDER BY p.id",
            {**params, "first_patient": first_patient},
        )
        _insert_select(
            Wristband,
            {
                "external_id": "gen_random_uuid()",
                "created_at": "a.admitted_at",
                "patient_id": "a.patient_id",
                "admission_id": "a.id",
                "instance": "1",
                "printed_at": "a.admitted_at",
                "printed_by_id": "%(pharmacist)s",
            },
            "FROM wards_admission a WHERE a.id >= %(first_admission)s ORDER BY a.id",
            {**params, "first_admission": first_admission},
        )
        first_order = _max_id(MedicationOrder) + 1
        _insert_select(
            MedicationOrder,
            {
                "external_id": "gen_random_uuid()",
                "created_at": "a.admitted_at",
                "admission_id": "a.id",
                "hospital_id": "a.hospital_id",
                "medication_id": "m.id",
                "dose_value": "m.strength_value",
                "dose_unit": "'mg'",
                "route": "'PO'",
                "schedule_kind": "'interval'",
                "interval_hours": "%(every)s",
                "start_at": "a.admitted_at",
                "stop_at": "a.discharged_at",
                "status": "'completed'",
                "prescriber_name": "'BS. Bench'",
                "verified_by_id": "%(pharmacist)s",
                "verified_at": "a.admitted_at",
            },
            "FROM wards_admission a CROSS JOIN pharmacy_medication m "
            "WHERE a.id >= %(first_admission)s AND m.code LIKE 'bench-med-%%' "
            "ORDER BY a.id, m.id",
            {**params, "first_admission": first_admission},
        )
        added = _doses_and_records(
            first_order=first_order,
            start="a.admitted_at",
            steps=range(1, days * 24 // spec.every_hours + 1),
            given="true",
            params={"every": spec.every_hours},
            nurse_ids=list(_nurse_ids()),
            limit=administrations,
        )
    hospital.history_admissions += count
    return added


def audit_chains_seal() -> None:
    """Hash-chain the generated records (inserted in bulk, without chain fields) as the migration
    that introduced the chains did, so that `manage.py verify_audit` can check a run's records."""
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("scanning.migrations.0003_audit_hash_chain")
    with connection.schema_editor() as editor:
        migration.backfill(apps, editor)


def _nurse_ids() -> list[int]:
    from hospital.models import User

    return list(
        User.objects.filter(username__startswith="bench-nurse-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[float, float]]
    colour: str
    dashed: bool = False


def svg_line_chart(
    path: Path,
    *,
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[Series],
    x_ticks: Sequence[tuple[float, str]],
    log_x: bool = False,
    targets: Sequence[tuple[float, str]] = (),
    notes: Sequence[str] = (),
) -> None:
    """A small line chart drawn by hand: no plotting library to install."""
    width, height = 720, 440
    left, right, top, bottom = 70, 190, 48, 62
    plot_w, plot_h = width - left - right, height - top - bottom

    def fx(value: float) -> float:
        lo, hi = x_ticks[0][0], x_ticks[-1][0]
        if log_x:
            value, lo, hi = math.log10(value), math.log10(lo), math.log10(hi)
        return left + (value - lo) / (hi - lo) * plot_w if hi != lo else left + plot_w / 2

    y_values = [y for s in series for _x, y in s.points] + [t for t, _label in targets]
    y_max = _nice_ceiling(max(y_values) * 1.1 if y_values else 1.0)

    def fy(value: float) -> float:
        return top + plot_h - value / y_max * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="24" font-size="15" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i in range(6):
        value = y_max * i / 5
        y = fy(value)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e4e4e4"/>'
        )
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick(value)}</text>')
    for value, label in x_ticks:
        x = fx(value)
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#f0f0f0"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
            f"{html.escape(label)}</text>"
        )
    out += [
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#444"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 20}" text-anchor="middle">'
        f"{html.escape(x_label)}</text>",
        f'<text transform="translate(18 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        f"{html.escape(y_label)}</text>",
    ]
    for value, label in targets:
        y = fy(value)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#c00" '
            'stroke-dasharray="2 3"/>'
        )
        out.append(
            f'<text x="{left + plot_w - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#c00">'
            f"{html.escape(label)}</text>"
        )
    for index, s in enumerate(series):
        points = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in s.points)
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(
            f'<polyline points="{points}" fill="none" stroke="{s.colour}" stroke-width="2"{dash}/>'
        )
        for x, y in s.points:
            out.append(f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" r="3" fill="{s.colour}"/>')
        legend_y = top + 14 + index * 20
        out.append(
            f'<line x1="{left + plot_w + 14}" y1="{legend_y - 4}" x2="{left + plot_w + 38}" '
            f'y2="{legend_y - 4}" stroke="{s.colour}" stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{left + plot_w + 44}" y="{legend_y}">{html.escape(s.label)}</text>')
    for index, line in enumerate(notes):
        out.append(
            f'<text x="{left + plot_w + 14}" y="{top + 30 + (len(series) + index) * 20}" '
            f'font-size="11" fill="#444">{html.escape(line)}</text>'
        )
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _tick(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == 0 else f"{value:.1f}"
