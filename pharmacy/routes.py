"""Routes of administration (HL7 table 0162) and the dose forms that can go by each: pure data,
no Django, so that the bedside rules (scanning/rules/), the formulary's validation and the
HL7/FHIR mappers read the same table.

The `Route` choices in pharmacy/models.py list the same codes with their English names for
translation; a test keeps the Vietnamese catalogue's names equal to the ones here, which the
pure rules print.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RouteNames:
    vi: str  # as a Vietnamese ward nurse says it
    en: str
    hl7: str  # HL7 table 0162 display


# The routes of HL7 table 0162 that a provincial hospital's wards use. One HL7 code covers both an
# intravenous injection and an infusion ("tiêm, truyền tĩnh mạch"); the dose form tells them apart.
ROUTES: dict[str, RouteNames] = {
    "PO": RouteNames("uống", "oral", "Oral"),
    "SL": RouteNames("ngậm dưới lưỡi", "sublingual", "Sublingual"),
    "NG": RouteNames("qua ống thông dạ dày", "nasogastric tube", "Nasogastric"),
    "IV": RouteNames("tiêm/truyền tĩnh mạch", "intravenous", "Intravenous"),
    "IA": RouteNames("tiêm động mạch", "intra-arterial", "Intra-arterial"),
    "IM": RouteNames("tiêm bắp", "intramuscular", "Intramuscular"),
    "SC": RouteNames("tiêm dưới da", "subcutaneous", "Subcutaneous"),
    "ID": RouteNames("tiêm trong da", "intradermal", "Intradermal"),
    "IT": RouteNames("tiêm nội tủy (tủy sống)", "intrathecal", "Intrathecal"),
    "EP": RouteNames("tiêm ngoài màng cứng", "epidural", "Epidural"),
    "IH": RouteNames("hít, khí dung", "inhalation", "Inhalation"),
    "NS": RouteNames("nhỏ mũi, xịt mũi", "nasal", "Nasal"),
    "OP": RouteNames("nhỏ mắt", "ophthalmic", "Ophthalmic"),
    "OT": RouteNames("nhỏ tai", "otic", "Otic"),
    "PR": RouteNames("đặt trực tràng", "rectal", "Rectal"),
    "VG": RouteNames("đặt âm đạo", "vaginal", "Vaginal"),
    "TP": RouteNames("dùng ngoài da", "topical", "Topical"),
    "TD": RouteNames("dán qua da", "transdermal", "Transdermal"),
}

_ORAL_SOLID = frozenset({"PO", "SL", "NG", "PR", "VG"})
_PARENTERAL = frozenset({"IV", "IA", "IM", "SC", "ID", "IT", "EP"})

# What each dose form (pharmacy DoseForm values) can physically be given by. A formulary item
# lists its own allowed routes on top (vincristine: IV only); a route outside this table is a
# data error that must never reach a patient (a tablet "IV").
FORM_ROUTES: dict[str, frozenset[str]] = {
    "tablet": _ORAL_SOLID,
    # Extended release: crushed for a tube or split, the whole dose is released at once.
    "tablet_er": frozenset({"PO"}),
    "capsule": frozenset({"PO", "SL", "NG", "VG"}),
    "capsule_er": frozenset({"PO"}),
    "oral_solution": frozenset({"PO", "SL", "NG"}),
    "oral_suspension": frozenset({"PO", "NG"}),
    "injection": _PARENTERAL,
    "powder_injection": _PARENTERAL,
    "infusion": frozenset({"IV", "IA", "SC", "EP"}),
    "suppository": frozenset({"PR", "VG"}),
    "inhalation": frozenset({"IH", "NS"}),
    "eye_drops": frozenset({"OP", "OT"}),
    "ear_drops": frozenset({"OT"}),
    "nasal": frozenset({"NS"}),
    "topical": frozenset({"TP", "PR", "VG", "NS", "OT"}),
    "patch": frozenset({"TD", "TP"}),
}


def form_allows_route(dose_form: str, route: str) -> bool:
    return route in FORM_ROUTES.get(dose_form, frozenset())


def route_names(route: str) -> RouteNames:
    """The names of a route; an unknown code is shown as itself, never guessed."""
    return ROUTES.get(route) or RouteNames(route, route, route)
