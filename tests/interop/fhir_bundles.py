"""A realistic transaction Bundle from an HIS (R5 or R4 shape): a Vietnamese patient with an MRN
assigned by the hospital, admitted to the demo ward NOI, allergic to penicillins, with a scheduled
paracetamol order and a PRN tramadol order. The README's sample is this bundle."""

import copy

SID = "https://bcma.example.vn/fhir/sid"
ROUTE = "http://terminology.hl7.org/CodeSystem/v2-0162"
UCUM = "http://unitsofmeasure.org"
HIS_DRUGS = "https://his.benhvien-tinh.vn/fhir/CodeSystem/thuoc"
MRN = "BN2026000777"
VISIT = "VV2026-0777"
PATIENT_URL = "urn:uuid:7d0f1b7e-2f0c-4a51-9c3e-0a4c3b1d0001"
ENCOUNTER_URL = "urn:uuid:7d0f1b7e-2f0c-4a51-9c3e-0a4c3b1d0002"


def mg(value, code="mg"):
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def patient(*, name="Nguyễn Thị Mai Anh", birth="1984-07-15", insurance="DN4790123456789"):
    family, *given = name.split()
    return {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": f"{SID}/mrn",
                "value": MRN,
                "assigner": {"display": "BVDKTINH"},
            },
            {"system": f"{SID}/health-insurance", "value": insurance},
        ],
        "name": [{"use": "official", "text": name, "family": family, "given": given}],
        "gender": "female",
        "birthDate": birth,
    }


def encounter(
    version="R5", *, ward="NOI", bed="10", status=None, start="2026-11-24T07:30:00+07:00"
):
    r5 = version == "R5"
    inpatient = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "IMP",
        "display": "inpatient encounter",
    }
    return {
        "resourceType": "Encounter",
        "identifier": [{"system": f"{SID}/visit-number", "value": VISIT}],
        "status": status or "in-progress",
        "class": [{"coding": [inpatient]}] if r5 else inpatient,
        "subject": {"reference": PATIENT_URL},
        ("actualPeriod" if r5 else "period"): {"start": start},
        "location": [
            {"location": {"identifier": {"system": f"{SID}/ward", "value": ward}, "display": ward}},
            {"location": {"identifier": {"system": f"{SID}/bed", "value": f"{ward}/{bed}"}}},
        ],
    }


def allergy(version="R5"):
    reaction = {"text": "Nổi mề đay"}
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "criticality": "high",
        "code": {
            "coding": [{"code": "penicillins", "display": "Penicillin"}],
            "text": "Penicillin",
        },
        "patient": {"reference": PATIENT_URL},
        "reaction": [
            {
                "manifestation": [{"concept": reaction} if version == "R5" else reaction],
                "severity": "severe",
            }
        ],
    }


def _medication(version, code, name):
    concept = {"coding": [{"system": HIS_DRUGS, "code": code, "display": name}], "text": name}
    return (
        {"medication": {"concept": concept}}
        if version == "R5"
        else {"medicationCodeableConcept": concept}
    )


def scheduled_order(
    version="R5", *, number="YL2026-0777-1", dose=500, times=("08:00:00", "20:00:00")
):
    return {
        "resourceType": "MedicationRequest",
        "identifier": [{"system": f"{SID}/placer-order-number", "value": number}],
        "status": "active",
        "intent": "order",
        **_medication(version, "TT01", "Paracetamol 500 mg viên"),
        "subject": {"reference": PATIENT_URL},
        "encounter": {"reference": ENCOUNTER_URL},
        "authoredOn": "2026-11-24T07:45:00+07:00",
        "requester": {"display": "BS. Trần Văn Hùng"},
        "dosageInstruction": [
            {
                "text": "Uống sau ăn",
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": "2026-11-24T07:45:00+07:00"},
                        "timeOfDay": list(times),
                    }
                },
                "route": {"coding": [{"system": ROUTE, "code": "PO"}]},
                "doseAndRate": [{"doseQuantity": mg(dose)}],
            }
        ],
    }


def prn_order(version="R5", *, number="YL2026-0777-2"):
    r5 = version == "R5"
    dosage = {
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": "2026-11-24T07:45:00+07:00"},
                "frequency": 1,
                "period": 6,
                "periodUnit": "h",
            }
        },
        "route": {"coding": [{"system": ROUTE, "code": "PO"}]},
        "doseAndRate": [{"doseQuantity": mg(50)}],
    }
    maximum = {
        "numerator": mg(200),
        "denominator": {"value": 24, "unit": "h", "system": UCUM, "code": "h"},
    }
    if r5:
        dosage.update(asNeeded=True, asNeededFor=[{"text": "Đau"}], maxDosePerPeriod=[maximum])
    else:
        dosage.update(asNeededCodeableConcept={"text": "Đau"}, maxDosePerPeriod=maximum)
    return {
        "resourceType": "MedicationRequest",
        "identifier": [{"system": f"{SID}/placer-order-number", "value": number}],
        "status": "active",
        "intent": "order",
        **_medication(version, "TT07", "Tramadol 50 mg viên nang"),
        "subject": {"reference": PATIENT_URL},
        "encounter": {"reference": ENCOUNTER_URL},
        "authoredOn": "2026-11-24T07:45:00+07:00",
        "requester": {"display": "BS. Trần Văn Hùng"},
        "dosageInstruction": [dosage],
    }


def put(resource_type, system, value):
    return {"method": "PUT", "url": f"{resource_type}?identifier={SID}/{system}|{value}"}


def transaction(version="R5", *, identifier="HIS-2026-11-24-0001", resources=None):
    """The bundle; `resources` replaces the default entries' resources by position."""
    entries = [
        {"fullUrl": PATIENT_URL, "resource": patient(), "request": put("Patient", "mrn", MRN)},
        {
            "fullUrl": ENCOUNTER_URL,
            "resource": encounter(version),
            "request": {
                "method": "POST",
                "url": "Encounter",
                "ifNoneExist": f"identifier={SID}/visit-number|{VISIT}",
            },
        },
        {
            "fullUrl": "urn:uuid:7d0f1b7e-2f0c-4a51-9c3e-0a4c3b1d0003",
            "resource": allergy(version),
            "request": {"method": "POST", "url": "AllergyIntolerance"},
        },
        {
            "fullUrl": "urn:uuid:7d0f1b7e-2f0c-4a51-9c3e-0a4c3b1d0004",
            "resource": scheduled_order(version),
            "request": put("MedicationRequest", "placer-order-number", "YL2026-0777-1"),
        },
        {
            "fullUrl": "urn:uuid:7d0f1b7e-2f0c-4a51-9c3e-0a4c3b1d0005",
            "resource": prn_order(version),
            "request": put("MedicationRequest", "placer-order-number", "YL2026-0777-2"),
        },
    ]
    for index, resource in (resources or {}).items():
        entries[index]["resource"] = resource
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    if identifier:
        bundle["identifier"] = {
            "system": "https://his.benhvien-tinh.vn/bundle",
            "value": identifier,
        }
    return copy.deepcopy(bundle)
