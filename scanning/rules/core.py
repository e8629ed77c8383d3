"""What the rules answer (Finding, CheckResult), how a rule reports a finding (Findings.add: the
severity and the words come from the catalogue), and the wording helpers every area shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from scanning.dosemath import Quantity
from scanning.rules.catalogue import CATALOGUE, CODE_RANK, DEFAULT
from scanning.rules.codes import FindingCode, Severity
from scanning.rules.facts import (
    CheckFacts,
    DoseFacts,
    MedicationFacts,
    OrderFacts,
    ProductFacts,
    ReplacementFacts,
    ScannedUnit,
)

# What a finding carries to the cart and the record as it is: values json.dumps writes as such.
type JSONValue = str | int | float | bool | Sequence[JSONValue] | Mapping[str, JSONValue] | None


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message_vi: str
    message_en: str
    data: dict[str, JSONValue] = field(default_factory=dict)

    def message(self, language: str = "vi") -> str:
        return self.message_en if language.lower().startswith("en") else self.message_vi


@dataclass(frozen=True)
class DoseSummary:
    ordered: Quantity
    scanned: Quantity | None
    comparison: str  # "equal" | "less" | "more" | "incomparable"


@dataclass(frozen=True)
class CheckResult:
    verdict: str  # "go" | "warn" | "stop"
    findings: tuple[Finding, ...]
    order: OrderFacts | None
    dose: DoseFacts | None
    dose_summary: DoseSummary | None

    def codes(self) -> set[str]:
        return {finding.code for finding in self.findings}

    def stops(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.STOP)

    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == Severity.WARN)


@dataclass(frozen=True)
class Words:
    """A value that a message shows differently in each language (a time, a duration)."""

    vi: str
    en: str


def _in(language: str, fields: Mapping[str, object]) -> dict[str, object]:
    return {
        name: getattr(value, language) if isinstance(value, Words) else value
        for name, value in fields.items()
    }


class Findings:
    def __init__(self) -> None:
        self._items: list[Finding] = []

    def add(
        self,
        code: FindingCode,
        fields: Mapping[str, object] | None = None,
        /,
        *,
        variant: str = DEFAULT,
        **data: JSONValue,
    ) -> None:
        """Report `code` in its catalogue wording `variant`, filled with `fields`; `data` goes to
        the cart and the record as it is."""
        entry = CATALOGUE[code]
        message = entry.messages[variant]
        fields = fields or {}
        self._items.append(
            Finding(
                str(code),
                message.severity or entry.severity,
                message.vi.format_map(_in("vi", fields)),
                message.en.format_map(_in("en", fields)),
                data,
            )
        )

    def has(self, code: FindingCode) -> bool:
        return any(f.code == code for f in self._items)

    def ordered(self) -> tuple[Finding, ...]:
        """STOP before WARN, then in the codes' order, then as reported."""
        ranked = sorted(
            enumerate(self._items),
            key=lambda item: (
                item[1].severity != Severity.STOP,
                CODE_RANK.get(item[1].code, len(CODE_RANK)),
                item[0],
            ),
        )
        return tuple(finding for _index, finding in ranked)

    def result(
        self, order: OrderFacts | None, dose: DoseFacts | None, summary: DoseSummary | None
    ) -> CheckResult:
        """Any STOP makes the verdict "stop", else any WARN makes it "warn", else "go"."""
        findings = self.ordered()
        if any(f.severity == Severity.STOP for f in findings):
            verdict = "stop"
        elif findings:
            verdict = "warn"
        else:
            verdict = "go"
        return CheckResult(
            verdict=verdict, findings=findings, order=order, dose=dose, dose_summary=summary
        )


# --- wording ------------------------------------------------------------------------------

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clock(moment: datetime, facts: CheckFacts | ReplacementFacts) -> Words:
    """Local 24-hour time, with the day when it is not today."""
    local = moment.astimezone(facts.tz)
    hhmm = f"{local:%H:%M}"
    if local.date() == facts.now.astimezone(facts.tz).date():
        return Words(hhmm, hhmm)
    return Words(f"{hhmm} ({local:%d/%m})", f"{hhmm} ({local.day} {_MONTHS_EN[local.month - 1]})")


def day(value: date) -> Words:
    return Words(f"{value:%d/%m/%Y}", f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}")


def duration(minutes: int) -> Words:
    """669 minutes as a nurse says it: "11 giờ 9 phút", "11 h 9 min"; under an hour in minutes."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return Words(f"{rest} phút", f"{rest} min")
    if not rest:
        return Words(f"{hours} giờ", f"{hours} h")
    return Words(f"{hours} giờ {rest} phút", f"{hours} h {rest} min")


def names(medications: Iterable[MedicationFacts]) -> str:
    return ", ".join(dict.fromkeys(m.name for m in medications))


def iso(moment: datetime) -> str:
    return moment.isoformat()


def known_product(unit: ScannedUnit) -> ProductFacts:
    """The product of a unit in the `known` list (product.check_units keeps only those with one).
    A unit without one there is a caller's bug: raised, as the attribute access did before it was
    typed, never skipped (a dose totalled without it could pass an overdose)."""
    if unit.product is None:
        raise ValueError(f"a known unit has a product: {unit!r}")
    return unit.product


def medications(known: list[tuple[int, ScannedUnit]]) -> list[MedicationFacts]:
    """The distinct medications of the known units, in scan order."""
    products = [known_product(unit) for _index, unit in known]
    by_id = {product.medication.id: product.medication for product in products}
    return list(by_id.values())
