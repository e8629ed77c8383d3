"""Exact dose arithmetic: quantities, strengths, what one scan holds, ordered vs scanned.

Pure and exact. Values are `Decimal`; sums, conversions and comparisons run on `Fraction`s, so three
0.1 mg units are exactly 0.3 mg and 3 × (100 mg per 3 mL × 1 mL) is exactly 100 mg. Floats are
refused. Units are the pharmacy `DoseUnit` values: mcg/mg/g (mass), mL/L (volume), IU (only IU) and
each (count); nothing converts across dimensions except through a product's strength.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction


class IncomparableUnits(ValueError):
    """Two amounts cannot be converted into each other (mg vs IU, mg vs mL with no strength)."""


class Dimension(StrEnum):
    MASS = "mass"
    VOLUME = "volume"
    ACTIVITY = "activity"  # IU: never converted to mass, the ratio depends on the substance
    COUNT = "count"


class Comparison(StrEnum):
    LESS = "less"
    EQUAL = "equal"
    MORE = "more"
    INCOMPARABLE = "incomparable"


# Each unit's dimension and its size in the dimension's smallest unit.
_UNITS: dict[str, tuple[Dimension, int]] = {
    "mcg": (Dimension.MASS, 1),
    "mg": (Dimension.MASS, 1_000),
    "g": (Dimension.MASS, 1_000_000),
    "mL": (Dimension.VOLUME, 1),
    "L": (Dimension.VOLUME, 1_000),
    "IU": (Dimension.ACTIVITY, 1),
    "each": (Dimension.COUNT, 1),
}
UNITS = frozenset(_UNITS)


def dimension(unit: str) -> Dimension:
    try:
        return _UNITS[unit][0]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dose unit: {unit!r}") from None


def _factor(unit: str) -> int:
    return _UNITS[unit][1]


def to_decimal(value: Fraction) -> Decimal:
    """Exact when the fraction has a finite decimal expansion; else rounded to 28 digits."""
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator == 1:
        places = max(twos, fives)
        scaled = value.numerator * 10**places // value.denominator
        # Built from a string: Decimal arithmetic would round to the context's precision.
        return Decimal(f"{scaled}E-{places}")
    with localcontext() as context:
        context.prec = 28
        return Decimal(value.numerator) / Decimal(value.denominator)


def format_decimal(value: Decimal) -> str:
    """500.0000 → "500", 0.30 → "0.3", never scientific notation."""
    with localcontext() as context:
        context.prec = max(28, len(value.as_tuple().digits))
        text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True, eq=False)
class Quantity:
    """An amount in one unit. Equal, ordered and hashed by amount within its dimension."""

    value: Decimal
    unit: str

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, Decimal | int):
            raise TypeError(f"a quantity needs a Decimal (never a float): {self.value!r}")
        value = Decimal(self.value)
        if not value.is_finite() or value < 0:
            raise ValueError(f"a quantity is a finite amount of zero or more: {value!r}")
        dimension(self.unit)
        object.__setattr__(self, "value", value)

    @property
    def dimension(self) -> Dimension:
        return dimension(self.unit)

    def exact(self, unit: str | None = None) -> Fraction:
        """The amount as a Fraction, in `unit` (default: its own)."""
        unit = self.unit if unit is None else unit
        if dimension(unit) != self.dimension:
            raise IncomparableUnits(f"{self.unit} cannot be converted to {unit}")
        return Fraction(self.value) * _factor(self.unit) / _factor(unit)

    def to(self, unit: str) -> Quantity:
        return Quantity(to_decimal(self.exact(unit)), unit)

    @classmethod
    def of(cls, value: Fraction, unit: str) -> Quantity:
        return cls(to_decimal(value), unit)

    def compare(self, other: Quantity) -> Comparison:
        mine, theirs = self.exact(), other.exact(self.unit)
        if mine < theirs:
            return Comparison.LESS
        return Comparison.EQUAL if mine == theirs else Comparison.MORE

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity.of(self.exact() + other.exact(self.unit), self.unit)

    def __radd__(self, other: object) -> Quantity:
        # sum() starts from 0.
        if other == 0 and not isinstance(other, bool):
            return self
        return NotImplemented

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity.of(self.exact() - other.exact(self.unit), self.unit)

    def __mul__(self, times: int | Decimal) -> Quantity:
        if isinstance(times, bool) or not isinstance(times, int | Decimal):
            return NotImplemented
        return Quantity.of(self.exact() * Fraction(times), self.unit)

    __rmul__ = __mul__

    def _base(self) -> Fraction:
        return Fraction(self.value) * _factor(self.unit)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.dimension == other.dimension and self._base() == other._base()

    def __hash__(self) -> int:
        return hash((self.dimension, self._base()))

    def __lt__(self, other: Quantity) -> bool:
        return self.compare(other) is Comparison.LESS

    def __le__(self, other: Quantity) -> bool:
        return self.compare(other) is not Comparison.MORE

    def __gt__(self, other: Quantity) -> bool:
        return self.compare(other) is Comparison.MORE

    def __ge__(self, other: Quantity) -> bool:
        return self.compare(other) is not Comparison.LESS

    def __str__(self) -> str:
        return f"{format_decimal(self.value)} {self.unit}"

    def as_data(self) -> dict[str, str]:
        return {"value": format_decimal(self.value), "unit": self.unit}


@dataclass(frozen=True)
class Strength:
    """How much medication is in how much product: 250 mg per 5 mL, 500 mg per 1 each."""

    amount: Quantity
    per: Quantity

    def __post_init__(self) -> None:
        if self.per.value <= 0:
            raise ValueError("a strength is per a positive amount")

    def content(self, quantity: Quantity) -> Quantity:
        """Medication in `quantity` of product, in the strength's unit. `quantity` must be in
        the per-unit's dimension, else IncomparableUnits."""
        return Quantity.of(self._content_exact(quantity), self.amount.unit)

    def _content_exact(self, quantity: Quantity) -> Fraction:
        return self.amount.exact() * quantity.exact(self.per.unit) / self.per.exact()

    def same_concentration(self, other: Strength) -> bool:
        if (self.amount.dimension, self.per.dimension) != (
            other.amount.dimension,
            other.per.dimension,
        ):
            return False
        return self.amount._base() * other.per._base() == other.amount._base() * self.per._base()

    def __str__(self) -> str:
        return f"{self.amount}/{self.per}"


def content_per_scan(
    *,
    package_quantity: Decimal,
    package_unit: str,
    strength_value: Decimal,
    strength_unit: str,
    per_value: Decimal,
    per_unit: str,
) -> Quantity:
    """How much medication one scan of a package holds, in the strength's unit.

    Tablet 500 mg per 1 each, package 1 each → 500 mg; syrup 250 mg per 5 mL, package 10 mL →
    500 mg. IncomparableUnits when the package unit is not convertible to the per unit.
    """
    strength = Strength(Quantity(strength_value, strength_unit), Quantity(per_value, per_unit))
    return strength.content(Quantity(package_quantity, package_unit))


@dataclass(frozen=True)
class Pack:
    """What one scan holds (1 each, 10 mL) and the strength of its product."""

    quantity: Quantity
    strength: Strength

    @property
    def content(self) -> Quantity:
        return self.strength.content(self.quantity)


@dataclass(frozen=True)
class DoseComparison:
    """Ordered and scanned amounts in one unit. `units` holds each item's amount in that unit.
    `excess_within_one_unit`: more was scanned, but less than the smallest unit too much, so
    no whole unit is spare (the situation of a partial unit)."""

    ordered: Quantity
    scanned: Quantity | None
    comparison: Comparison
    units: tuple[Quantity, ...] = ()
    excess_within_one_unit: bool = False

    @property
    def excess(self) -> Quantity | None:
        if self.scanned is None or self.comparison is not Comparison.MORE:
            return None
        return self.scanned - self.ordered

    @property
    def shortfall(self) -> Quantity | None:
        if self.scanned is None or self.comparison is not Comparison.LESS:
            return None
        return self.ordered - self.scanned


# An amount to add up: a bare quantity (an amount the nurse gives) or a pack, each with the
# strength that relates its volume or count to medication.
_Item = tuple[Quantity, Strength | None]


def _measure(item: _Item, target: Dimension, reference: Strength | None) -> Fraction | None:
    """The item in the target dimension's base unit, or None if it cannot be expressed there."""
    quantity, strength = item
    if strength is None or quantity.dimension == strength.amount.dimension:
        return quantity._base() if quantity.dimension == target else None
    if quantity.dimension != strength.per.dimension:
        return None  # inconsistent product data: the amount is neither medication nor product
    if target == strength.amount.dimension:
        return strength._content_exact(quantity) * _factor(strength.amount.unit)
    if target != quantity.dimension:
        return None
    # 10 mL of one syrup equals 10 mL of another only at the same concentration.
    if reference is None or not strength.same_concentration(reference):
        return None
    return quantity._base()


def _reference(items: Sequence[_Item], target_strength: Strength | None) -> Strength | None:
    if target_strength is not None:
        return target_strength
    strengths = [strength for _quantity, strength in items if strength is not None]
    if strengths and all(s.same_concentration(strengths[0]) for s in strengths):
        return strengths[0]
    return None


def _compare_items(
    target: Quantity, items: Sequence[_Item], target_strength: Strength | None
) -> DoseComparison:
    incomparable = DoseComparison(target, None, Comparison.INCOMPARABLE)
    candidates = [target]
    # An order in mL (or tablets) of a product: also try as medication (mg) through the
    # ordered product's strength, for packs of another concentration.
    if (
        target_strength is not None
        and target.dimension == target_strength.per.dimension != target_strength.amount.dimension
    ):
        candidates.append(target_strength.content(target))
    reference = _reference(items, target_strength)
    for goal in candidates:
        maybe_measures = [_measure(item, goal.dimension, reference) for item in items]
        measures = [measure for measure in maybe_measures if measure is not None]
        if len(measures) != len(maybe_measures):
            continue
        base = _factor(goal.unit)
        amounts = [measure / base for measure in measures]
        total, wanted = sum(amounts, Fraction(0)), goal.exact()
        if total < wanted:
            comparison = Comparison.LESS
        else:
            comparison = Comparison.EQUAL if total == wanted else Comparison.MORE
        within_one = (
            comparison is Comparison.MORE and bool(amounts) and total - wanted < min(amounts)
        )
        return DoseComparison(
            ordered=goal,
            scanned=Quantity.of(total, goal.unit),
            comparison=comparison,
            units=tuple(Quantity.of(amount, goal.unit) for amount in amounts),
            excess_within_one_unit=within_one,
        )
    return incomparable


def compare_dose(
    ordered: Quantity, packs: Sequence[Pack], *, ordered_strength: Strength | None = None
) -> DoseComparison:
    """Ordered dose against the scanned packs, in one unit.

    - An order in the strength's unit (mg, IU) compares with the packs' medication content.
    - An order in the per unit (mL, each) compares with the packs' volume or count when the
      packs have the ordered product's concentration (`ordered_strength`); otherwise both are
      turned into medication through their strengths (1 tablet of 500 mg = 2 tablets of 250 mg).
    - Anything else (mg vs IU, mg vs mL with no strength relation) is incomparable.
    """
    return _compare_items(
        ordered, [(pack.quantity, pack.strength) for pack in packs], ordered_strength
    )


def compare_amount(
    ordered: Quantity,
    amount: Quantity,
    *,
    amount_strength: Strength | None = None,
    ordered_strength: Strength | None = None,
) -> DoseComparison:
    """An amount (what the nurse gives, what an earlier record says) against the ordered dose.
    `amount_strength` relates the amount's volume or count to medication."""
    return _compare_items(ordered, [(amount, amount_strength)], ordered_strength)


# How far one counted unit of each form may be divided when the formulary marks it divisible: a
# scored tablet in halves; a vial or ampoule counted "each" to any part drawn up. Every other form
# (capsules, extended-release forms, suppositories, patches) is given whole.
_PART_OF_A_UNIT: dict[str, Fraction | None] = {
    "tablet": Fraction(1, 2),
    "injection": None,
    "powder_injection": None,
    "infusion": None,
}


@dataclass(frozen=True)
class UnitsForDose:
    """A dose in the product's own units (tablets, capsules, vials, mL): `units` None when the
    dose cannot be computed from the strength (IU against mg). `whole` says whether it can be
    given as such: whole units, a legitimate part of a divisible unit, or any measured volume."""

    units: Fraction | None
    unit: str
    whole: bool


def units_for_dose(
    dose: Quantity, strength: Strength, *, dose_form: str, divisible: bool
) -> UnitsForDose:
    """250 mg from 500 mg capsules is half a capsule, which cannot be given; half of a scored
    500 mg tablet can; 6 IU of a 100 IU/mL insulin is 0.06 mL, measured, not counted."""
    per = strength.per
    try:
        if dose.dimension == per.dimension:
            units = dose.exact(per.unit)
        else:
            units = dose.exact(strength.amount.unit) / strength.amount.exact() * per.exact()
    except IncomparableUnits:
        return UnitsForDose(None, per.unit, False)
    if per.dimension != Dimension.COUNT or units.denominator == 1:
        return UnitsForDose(units, per.unit, True)
    if not divisible or dose_form not in _PART_OF_A_UNIT:
        return UnitsForDose(units, per.unit, False)
    part = _PART_OF_A_UNIT[dose_form]
    return UnitsForDose(units, per.unit, part is None or (units / part).denominator == 1)
