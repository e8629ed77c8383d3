"""Product: each scanned unit on its own, before any order is looked at.

- PRODUCT_UNKNOWN when the GTIN is not in the formulary; DUPLICATE_SCAN for one serial scanned
  twice; SERIAL_ALREADY_USED, LOT_RECALLED against either form of the GTIN (the 14-digit one of
  the formulary and the one scanned); PRODUCT_EXPIRED against today's local date (a product
  expiring today is not expired).
- A typed medication code is checked as a scan would be: without its lot and expiry the recall and
  expiry rules would have nothing to read, so a bare typed GTIN is KEYED_LOT_EXPIRY_MISSING.
- One finding per code and subject: units are grouped by (GTIN, lot/serial), `data["units"]`
  lists their 0-based positions in the medication slot.

Words and severities: catalogue.py. Tests: tests/scanning/rules/test_product.py.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from scanning.rules.codes import FindingCode
from scanning.rules.core import Findings, day
from scanning.rules.facts import CheckFacts, ScannedUnit


def _group[K: Hashable](
    units: Iterable[tuple[int, ScannedUnit]], key: Callable[[ScannedUnit], K | None]
) -> dict[K, list[int]]:
    """Units by key (first-seen order), each with its positions; None keys are skipped."""
    groups: dict[K, list[int]] = {}
    for index, unit in units:
        value = key(unit)
        if value is not None:
            groups.setdefault(value, []).append(index)
    return groups


def _gtins(unit: ScannedUnit) -> tuple[str, ...]:
    found = (unit.product.gtin if unit.product else None, unit.gtin)
    return tuple(dict.fromkeys(g for g in found if g))


def _label(unit: ScannedUnit) -> str:
    return unit.product.medication.name if unit.product else (unit.gtin or "?")


def check_units(facts: CheckFacts, out: Findings) -> list[tuple[int, ScannedUnit]]:
    """Findings about each scanned unit itself. Returns the units that are known products, with
    their positions in the medication slot."""
    scanned = [(index, unit) for index, unit in enumerate(facts.units) if unit.kind == "medication"]

    for gtin, indexes in _group(scanned, lambda u: None if u.product else (u.gtin or "?")).items():
        out.add(FindingCode.PRODUCT_UNKNOWN, {"gtin": gtin}, gtin=gtin, units=indexes)

    serial_groups = _group(
        scanned, lambda u: (_gtins(u)[0], u.serial) if u.serial and _gtins(u) else None
    )
    for (gtin, serial), indexes in serial_groups.items():
        if len(indexes) > 1:
            out.add(
                FindingCode.DUPLICATE_SCAN,
                {"serial": serial, "count": len(indexes)},
                gtin=gtin,
                serial=serial,
                units=indexes,
            )
    by_index = dict(scanned)
    for (gtin, serial), indexes in serial_groups.items():
        unit = by_index[indexes[0]]
        if any((g, serial) in facts.used_serials for g in _gtins(unit)):
            out.add(
                FindingCode.SERIAL_ALREADY_USED,
                {"product": _label(unit), "serial": serial},
                gtin=gtin,
                serial=serial,
                units=indexes,
            )

    for (gtin, lot), indexes in _group(
        scanned, lambda u: (_gtins(u)[0], u.lot) if u.lot and _gtins(u) else None
    ).items():
        unit = by_index[indexes[0]]
        if any((g, lot) in facts.recalled_lots for g in _gtins(unit)):
            out.add(
                FindingCode.LOT_RECALLED,
                {"lot": lot, "product": _label(unit)},
                gtin=gtin,
                lot=lot,
                units=indexes,
            )

    today = facts.now.astimezone(facts.tz).date()
    expired = _group(
        scanned,
        lambda u: (
            (_label(u), u.lot, u.expiry) if u.expiry is not None and u.expiry < today else None
        ),
    )
    for (label, expired_lot, expiry), indexes in expired.items():
        out.add(
            FindingCode.PRODUCT_EXPIRED,
            {"product": label, "lot": expired_lot, "expiry": day(expiry)},
            variant="lot" if expired_lot else "default",
            expiry=expiry.isoformat(),
            lot=expired_lot,
            units=indexes,
        )
    _check_keyed_lot_expiry(scanned, out)
    return [(index, unit) for index, unit in scanned if unit.product is not None]


def _check_keyed_lot_expiry(scanned: list[tuple[int, ScannedUnit]], out: Findings) -> None:
    missing = _group(
        scanned,
        lambda u: (u.gtin or "?") if u.keyed and (not u.lot or u.expiry is None) else None,
    )
    for gtin, indexes in missing.items():
        out.add(FindingCode.KEYED_LOT_EXPIRY_MISSING, {"gtin": gtin}, gtin=gtin, units=indexes)
