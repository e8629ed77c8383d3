"""Bedside safety rules: one pure function from the facts of a scan to findings and a verdict.

`check_administration` runs for the cart's check and again inside the recording transaction, on
plain data (no ORM, no settings: an import-linter contract keeps Django out). Every rule that
applies is reported, not only the first; any STOP makes the verdict "stop", else any WARN makes it
"warn", else "go". Findings are ordered STOP before WARN, then by the order of `FindingCode`, then
by scan order.

Where things are (docs/architecture.md says more, docs/rules.md lists every rule):

- codes.py: the stable codes; catalogue.py: each code's area, severity, messages and override
  reasons, from which docs/rules.md is generated (`make rules-doc`).
- One module per clinical area, each holding its rules and, in its docstring, the decisions
  DESIGN.md section 4 leaves open (each pinned by a test in tests/scanning/rules/test_<area>.py):
  identity, entry, product, allergy, order, dose, weight, timing, prn, assessment, removal,
  site, witness, cosign, waste, infusion.
- facts.py: what the rules are given; core.py: what they answer and the shared wording.

This module keeps only the order in which the areas run, and what depends on what came before.
"""

from __future__ import annotations

from scanning.dosemath import Quantity
from scanning.rules import (
    allergy,
    assessment,
    cosign,
    dose,
    entry,
    identity,
    infusion,
    order,
    prn,
    product,
    removal,
    site,
    timing,
    waste,
    weight,
    witness,
)
from scanning.rules.catalogue import (
    CATALOGUE,
    CODE_ORDER,
    OVERRIDE_REASON_LABELS,
    OVERRIDE_REASONS,
    REASONS_NEEDING_COMMENT,
    WARN_CODES,
)
from scanning.rules.codes import FindingCode, Severity
from scanning.rules.core import CheckResult, DoseSummary, Finding, Findings, medications
from scanning.rules.facts import (
    AdmissionFacts,
    AllergyFacts,
    AssessmentValue,
    BagFacts,
    CheckFacts,
    DoseFacts,
    InfusionFacts,
    MedicationFacts,
    OrderFacts,
    PatientFacts,
    PatientScan,
    PriorDose,
    ProductFacts,
    ReplacementFacts,
    ScannedUnit,
    SiteUse,
    StaffFacts,
    WitnessFacts,
    WornProduct,
)

allergies_matching = allergy.allergies_matching
prn_next_allowed = prn.prn_next_allowed
prn_reason_matched = prn.reason_matched

__all__ = [
    "CATALOGUE",
    "CODE_ORDER",
    "OVERRIDE_REASONS",
    "OVERRIDE_REASON_LABELS",
    "REASONS_NEEDING_COMMENT",
    "WARN_CODES",
    "AdmissionFacts",
    "AllergyFacts",
    "AssessmentValue",
    "BagFacts",
    "CheckFacts",
    "CheckResult",
    "DoseFacts",
    "DoseSummary",
    "Finding",
    "FindingCode",
    "InfusionFacts",
    "MedicationFacts",
    "OrderFacts",
    "PatientFacts",
    "PatientScan",
    "PriorDose",
    "ProductFacts",
    "ReplacementFacts",
    "ScannedUnit",
    "Severity",
    "SiteUse",
    "StaffFacts",
    "WitnessFacts",
    "WornProduct",
    "allergies_matching",
    "check_administration",
    "check_replacement",
    "check_waste_later",
    "prn_next_allowed",
    "prn_reason_matched",
]


def check_administration(facts: CheckFacts) -> CheckResult:
    """The findings and verdict for what the cart scanned. Never raises for well-typed facts."""
    if facts.infusion is not None and facts.infusion.action not in (
        infusion.HANG,
        infusion.PREVIEW,
    ):
        return _check_bag_event(facts, facts.infusion)
    out = Findings()
    identity.check_performer(facts, out)
    entry.check_slots(facts, out)
    identified, in_care = identity.check_patient(facts, out)
    admission = facts.admission if in_care else None  # in care: admitted (and alive)
    known = product.check_units(facts, out)
    scanned = medications(known)
    chosen = scheduled = summary = None
    if known:
        if identified:
            allergy.check_allergies(facts, known, out)
        if admission is not None:
            choice = order.choose_order(facts, scanned, out)
            if choice is not None:
                chosen = choice.order
                order.check_route(chosen, scanned, out)
                # A per-kg order's dose is computed from the weight; without one it has none.
                weighed = weight.weighed_order(facts, chosen, out)
                chosen = weighed or chosen
                all_known = len(known) == len(facts.units)
                outcome = (
                    dose.check_dose(facts, chosen, known, out)
                    if all_known and weighed is not None
                    else dose.DoseOutcome(None, None)
                )
                summary = outcome.summary
                weight.check_max_per_kg(facts, chosen, outcome.this_dose, out)
                if all_known:
                    waste.check_waste(facts, chosen, known, out)
                if choice.usable:
                    assessment.check_assessments(facts, chosen, out)
                if choice.usable and chosen.is_prn:
                    prn.check_prn_reason(facts, chosen, out)
                    prn.check_prn(facts, chosen, outcome.this_dose, out)
                elif choice.usable:
                    scheduled = timing.check_schedule(facts, chosen, scanned, admission, out)
                if choice.usable and facts.infusion is not None:
                    infusion.check_hang(facts.infusion, chosen, known, out)
            removal.check_worn(facts, scanned, out)
            site.check_site(facts, scanned, out)
        witness.check_witness(facts, scanned, chosen, out)
        cosign.check_cosign(facts, out)
    entry.check_keyed(facts, out)
    return out.result(chosen, scheduled, summary)


def _check_bag_event(facts: CheckFacts, bag_action: InfusionFacts) -> CheckResult:
    """A rate change, pause, resume or take-down of a hung bag: who scans, the patient, and the
    bag's own rules. The product, order and dose were checked when the bag was hung."""
    out = Findings()
    identity.check_performer(facts, out)
    entry.check_slots(facts, out)
    _identified, in_care = identity.check_patient(facts, out)
    chosen = infusion.check_bag_event(facts, bag_action, out) if in_care else None
    entry.check_keyed(facts, out)
    return out.result(chosen, None, None)


def check_replacement(facts: ReplacementFacts) -> CheckResult:
    """The dose, unit and PRN rules of a record, run for a corrected amount: more than ordered or
    than the record's units hold, or in a unit that cannot be compared, is a STOP; less is
    DOSE_INCOMPLETE (an override), and the units it leaves over were not given. The patient, the
    order's status and the schedule were checked when the record was made and are not asked
    again."""
    out = Findings()
    chosen = facts.order
    known = [(index, unit) for index, unit in enumerate(facts.units) if unit.product is not None]
    outcome = (
        dose.check_dose(facts, chosen, known, out, spare_units_given_back=True)
        if known
        else dose.check_amount(facts, chosen, out)
    )
    if chosen.is_prn:
        prn.check_prn(facts, chosen, outcome.this_dose, out)
    return out.result(chosen, None, outcome.summary)


def check_waste_later(
    facts: WitnessFacts,
    products: list[ProductFacts],
    given: Quantity,
    wasted: Quantity,
) -> CheckResult:
    """The waste rules for waste documented after its record (an ampoule dropped, the rest of a
    vial found on the tray): the record's units, the amount it says was given, and who is there
    now. Everything else was checked when the record was made."""
    out = Findings()
    guarded = waste.needs_witness([p.medication for p in products])
    waste.waste_findings(facts, products, guarded, given, wasted, out)
    return out.result(None, None, None)
