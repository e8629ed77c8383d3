"""Tamper evidence for the legal record: hash chains over administrations and scan events. Pure:
plain values in, hashes and findings out; no ORM, no settings.

A record's *content hash* is SHA-256 over a canonical JSON serialisation of every stored field (an
administration's units and overrides included). Its *link* is SHA-256 over its position in its
chain, the link before it and its content hash; the next record of the chain stores that link as
its `previous_hash`. Changing a row changes its content hash, deleting one leaves a gap in the
sequence, and inserting one breaks the link of the record after it.

A chain proves that nothing was changed *after* it was written. Someone who can recompute every
hash (they need only this file) can rewrite a chain's tail consistently: that is caught only by
comparing the chain heads with a copy kept elsewhere: the signed anchors below, written outside the
database (scanning/anchors.py). Against an anchor a chain must still reach the anchored record,
that record must still hash to the anchored link, and no table may hold fewer records than then."""

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any
from uuid import UUID

VERSION = 1
GENESIS = "0" * 64

# Every stored field but the surrogate key and the chain columns. Listed rather than read from the
# models: a new model field must not silently change the hash of every existing row. A test fails
# until a new field is listed here, with a new VERSION and a way to tell old rows from new.
ADMINISTRATION_FIELDS = (
    "external_id",
    "created_at",
    "patient_id",
    "admission_id",
    "order_id",
    "scheduled_dose_id",
    "status",
    "performer_id",
    "witness_id",
    "administered_at",
    "amount",
    "unit",
    "route",
    "site",
    "is_partial",
    "reason",
    "comment",
    "cart",
    "corrects_id",
    "replaces_id",
)
# Fields added after records were sealed (a PRN dose's reason, a student's co-sign): hashed only
# when they hold a value, so that a record written before the field existed (and every record that
# leaves it empty) keeps its hash.
OPTIONAL_ADMINISTRATION_FIELDS = ("prn_reason", "cosigner_id", "cosigned_at")
# A unit or override belongs to the administration that lists it; its own key and its
# administration_id are covered by being hashed inside that administration.
UNIT_FIELDS = (
    "external_id",
    "created_at",
    "package_id",
    "gtin",
    "lot",
    "expiry",
    "serial",
    "scanned",
)
OVERRIDE_FIELDS = ("external_id", "created_at", "finding_code", "reason", "comment")
ASSESSMENT_FIELDS = ("external_id", "created_at", "kind", "value", "unit")
SCAN_EVENT_FIELDS = (
    "external_id",
    "created_at",
    "performer_id",
    "cart",
    "ward_id",
    "patient_id",
    "purpose",
    "scans",
    "verdict",
    "findings",
    "administration_id",
)
INFUSION_EVENT_FIELDS = (
    "external_id",
    "created_at",
    "administration_id",
    "kind",
    "at",
    "nurse_id",
    "rate_ml_h",
    "line",
    "volume_infused_ml",
    "cart",
    "override_reason",
    "override_comment",
)
REMOVAL_FIELDS = (
    "external_id",
    "created_at",
    "administration_id",
    "patient_id",
    "performer_id",
    "removed_at",
    "site",
    "scanned",
    "comment",
    "cart",
)
WASTE_FIELDS = (
    "external_id",
    "created_at",
    "administration_id",
    "patient_id",
    "amount",
    "unit",
    "reason",
    "comment",
    "performer_id",
    "witness_id",
    "wasted_at",
    "cart",
)
CHAIN_FIELDS = ("chain_seq", "previous_hash", "content_hash")


def canonical_json(value: Any) -> str:
    """One spelling for one value: sorted keys, no spaces, ASCII only, datetimes as ISO 8601 in
    UTC, Decimals as strings. Numbers are written as the database gives them back (a JSONB column
    keeps 1e16 as 10000000000000000), so a value hashes alike before the INSERT and after a read."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, Decimal):
        return json.dumps(_decimal_text(value))
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: audit times must be aware")
        return json.dumps(value.astimezone(UTC).isoformat(timespec="microseconds"))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, UUID):
        return json.dumps(str(value))
    if isinstance(value, Mapping):
        items = sorted((str(key), item) for key, item in value.items())
        return (
            "{" + ",".join(f"{json.dumps(key)}:{canonical_json(item)}" for key, item in items) + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    raise TypeError(f"cannot hash a {type(value).__name__}")


def _number(value: int | float) -> str:
    with localcontext(prec=1000):
        number = Decimal(repr(value) if isinstance(value, float) else value)
        if not number.is_finite():
            raise ValueError("NaN and infinity are not JSON")
        return format(number.normalize(), "f")


def _decimal_text(value: Decimal) -> str:
    # 1000 and 1000.0000 are one amount: SQLite and PostgreSQL give back different scales.
    return format(value.normalize(), "f") if value.is_finite() else str(value)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def fields_of(record: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in names}


def content_hash(table: str, fields: Mapping[str, Any], **children: Iterable[Mapping]) -> str:
    """SHA-256 of one record. Children (an administration's units and overrides) are hashed as
    sets: the order the database returns them in does not matter."""
    document = {
        "v": VERSION,
        "table": table,
        "fields": fields,
        **{
            name: sorted(canonical_json(child) for child in rows) for name, rows in children.items()
        },
    }
    return _sha256(canonical_json(document))


def administration_hash(
    administration: Any,
    units: Iterable[Any],
    overrides: Iterable[Any],
    assessments: Iterable[Any] = (),
) -> str:
    # Values measured before giving are hashed only where there are some, so that the records
    # written before they existed keep the hash they were sealed with.
    measured = [fields_of(value, ASSESSMENT_FIELDS) for value in assessments]
    optional = {
        name: value
        for name in OPTIONAL_ADMINISTRATION_FIELDS
        if (value := getattr(administration, name, "")) not in ("", None)
    }
    return content_hash(
        "scanning.administration",
        {**fields_of(administration, ADMINISTRATION_FIELDS), **optional},
        units=[fields_of(unit, UNIT_FIELDS) for unit in units],
        overrides=[fields_of(override, OVERRIDE_FIELDS) for override in overrides],
        **({"assessments": measured} if measured else {}),
    )


def waste_hash(waste: Any) -> str:
    return content_hash("scanning.waste", fields_of(waste, WASTE_FIELDS))


def scan_event_hash(event: Any) -> str:
    return content_hash("scanning.scanevent", fields_of(event, SCAN_EVENT_FIELDS))


def infusion_event_hash(event: Any) -> str:
    return content_hash("scanning.infusionevent", fields_of(event, INFUSION_EVENT_FIELDS))


def removal_hash(removal: Any) -> str:
    return content_hash("scanning.removal", fields_of(removal, REMOVAL_FIELDS))


def link_hash(*, seq: int, previous_hash: str, content_hash: str) -> str:
    """What the next record of the chain stores as its `previous_hash`."""
    return _sha256(f"{seq}|{previous_hash}|{content_hash}")


@dataclass(frozen=True)
class Seal:
    chain_seq: int
    previous_hash: str
    content_hash: str


def seal_next(head: tuple[int, str, str] | None, content: str) -> Seal:
    """The chain columns of a new record, given the chain's head (seq, previous_hash,
    content_hash), or None for the chain's first record."""
    if head is None:
        return Seal(chain_seq=1, previous_hash=GENESIS, content_hash=content)
    seq, previous, head_content = head
    return Seal(
        chain_seq=seq + 1,
        previous_hash=link_hash(seq=seq, previous_hash=previous, content_hash=head_content),
        content_hash=content,
    )


class Problem(StrEnum):
    CONTENT_CHANGED = "content changed"
    SEQUENCE_GAP = "sequence gap"
    LINK_BROKEN = "link broken"
    NOT_CHAINED = "not chained"


@dataclass(frozen=True)
class StoredLink:
    """One record as read back: its chain columns and the content hash recomputed from its row."""

    chain: Any
    record_id: int
    seq: int | None
    previous_hash: str
    content_hash: str
    recomputed_hash: str


@dataclass(frozen=True)
class Break:
    table: str
    chain: Any
    record_id: int
    seq: int | None
    problem: Problem
    detail: str


@dataclass
class Tally:
    chains: int = 0
    records: int = 0
    broken: int = 0


def chain_breaks(table: str, links: Iterable[StoredLink], tally: Tally) -> Iterator[Break]:
    """The first broken link of each chain. `links` come ordered by chain, then sequence, with a
    chain's unchained rows last; one pass, constant memory."""
    chain: Any = object()
    broken = False
    expected_seq, expected_previous = 1, GENESIS
    for link in links:
        if link.chain != chain:
            chain, broken = link.chain, False
            expected_seq, expected_previous = 1, GENESIS
            tally.chains += 1
        tally.records += 1
        if broken:
            continue
        found = _problem(link, expected_seq, expected_previous)
        if found is not None:
            broken = True
            tally.broken += 1
            yield Break(table, link.chain, link.record_id, link.seq, *found)
            continue
        expected_seq += 1
        expected_previous = link_hash(
            seq=link.seq, previous_hash=link.previous_hash, content_hash=link.content_hash
        )


def _problem(link: StoredLink, seq: int, previous: str) -> tuple[Problem, str] | None:
    if link.seq is None or not link.content_hash:
        return Problem.NOT_CHAINED, "the row has no place in the chain (written around the chain)"
    if link.recomputed_hash != link.content_hash:
        return (
            Problem.CONTENT_CHANGED,
            f"stored content hash {link.content_hash[:12]}…, the row now hashes to "
            f"{link.recomputed_hash[:12]}…",
        )
    if link.seq != seq:
        return Problem.SEQUENCE_GAP, f"expected sequence number {seq}, found {link.seq}"
    if link.previous_hash != previous:
        return (
            Problem.LINK_BROKEN,
            f"previous_hash {link.previous_hash[:12]}… does not match the record before it "
            f"({previous[:12]}…)",
        )
    return None


# Anchors: the chain heads and record counts as they were, kept where the database's users cannot
# write, and signed with a key the database never holds.

ANCHOR_FORMAT = "bcma-audit-anchor"
ANCHOR_VERSION = 1


@dataclass
class Seen:
    """What one pass over a table saw: its records, each chain's last link, and the link at the
    position an anchor names. Chains are keyed by their text (JSON keys are text)."""

    records: int = 0
    last: dict[str, tuple[int, str]] = field(default_factory=dict)
    at_anchor: dict[str, str] = field(default_factory=dict)


def watching(
    links: Iterable[StoredLink], seen: Seen, anchored_seqs: Mapping[str, int]
) -> Iterator[StoredLink]:
    """Pass the links through unchanged, noting in `seen` what an anchor is compared with. A link
    is taken over the content as it hashes now, so a row changed in place moves its link too."""
    for link in links:
        seen.records += 1
        if link.seq is not None:
            chain = str(link.chain)
            value = link_hash(
                seq=link.seq, previous_hash=link.previous_hash, content_hash=link.recomputed_hash
            )
            seen.last[chain] = (link.seq, value)
            if anchored_seqs.get(chain) == link.seq:
                seen.at_anchor[chain] = value
        yield link


@dataclass(frozen=True)
class TableAnchor:
    records: int
    heads: dict[str, tuple[int, str]]


@dataclass(frozen=True)
class Anchor:
    written_at: str
    database: str
    tables: dict[str, TableAnchor]

    def seqs(self, table: str) -> dict[str, int]:
        anchored = self.tables.get(table)
        return {chain: seq for chain, (seq, _link) in anchored.heads.items()} if anchored else {}


class AnchorError(ValueError):
    """An anchor that cannot be trusted: unreadable, of another format, or badly signed."""


def anchor_document(*, written_at: datetime, database: str, seen: Mapping[str, Seen]) -> dict:
    return {
        "format": ANCHOR_FORMAT,
        "version": ANCHOR_VERSION,
        "written_at": written_at.astimezone(UTC).isoformat(timespec="seconds"),
        "database": database,
        "tables": {
            table: {
                "records": table_seen.records,
                "heads": [[chain, seq, link] for chain, (seq, link) in table_seen.last.items()],
            }
            for table, table_seen in seen.items()
        },
    }


def _signature(document: Mapping, key: str) -> str:
    body = canonical_json({name: value for name, value in document.items() if name != "signature"})
    return "hmac-sha256:" + hmac.new(key.encode(), body.encode("ascii"), hashlib.sha256).hexdigest()


def anchor_sign(document: Mapping, key: str) -> dict:
    if not key:
        raise AnchorError("no signing key")
    return {**document, "signature": _signature(document, key)}


def anchor_read(document: Any, key: str) -> Anchor:
    """The anchor a signed document holds; AnchorError unless its signature is ours."""
    if not isinstance(document, dict) or document.get("format") != ANCHOR_FORMAT:
        raise AnchorError("not an audit anchor")
    if document.get("version") != ANCHOR_VERSION:
        raise AnchorError(f"anchor version {document.get('version')!r} is not {ANCHOR_VERSION}")
    if not key:
        raise AnchorError("no signing key")
    try:
        expected = _signature(document, key)
    except (TypeError, ValueError) as error:
        raise AnchorError(f"unreadable anchor: {error}") from error
    if not hmac.compare_digest(str(document.get("signature", "")), expected):
        raise AnchorError("bad signature: the anchor was changed or signed with another key")
    try:
        tables = {
            table: TableAnchor(
                records=int(entry["records"]),
                heads={str(chain): (int(seq), str(link)) for chain, seq, link in entry["heads"]},
            )
            for table, entry in document["tables"].items()
        }
        return Anchor(str(document["written_at"]), str(document["database"]), tables)
    except (KeyError, TypeError, ValueError) as error:
        raise AnchorError(f"unreadable anchor: {error!r}") from error


class AnchorProblem(StrEnum):
    LEDGER_EMPTIED = "ledger emptied"
    COUNT_FELL = "fewer records than anchored"
    TAIL_MISSING = "anchored records missing"
    ANCHORED_RECORD_CHANGED = "anchored record rewritten"


@dataclass(frozen=True)
class AnchorFinding:
    table: str
    chain: str | None
    problem: AnchorProblem
    detail: str


def anchor_findings(table: str, anchored: TableAnchor, seen: Seen, *, written_at: str):
    """Where a table no longer extends its anchor: fewer records than then, a chain that stops
    short of its anchored head, or an anchored head that hashes differently now (rewritten)."""
    if anchored.records and not seen.records:
        yield AnchorFinding(
            table,
            None,
            AnchorProblem.LEDGER_EMPTIED,
            f"the table is empty; it held {anchored.records} records at {written_at}",
        )
        return
    if seen.records < anchored.records:
        yield AnchorFinding(
            table,
            None,
            AnchorProblem.COUNT_FELL,
            f"{seen.records} records now, {anchored.records} at {written_at}",
        )
    for chain, (seq, link) in anchored.heads.items():
        last = seen.last.get(chain)
        if last is None or last[0] < seq:
            ends = f"now ends at {last[0]}" if last else "now has no record"
            yield AnchorFinding(
                table,
                chain,
                AnchorProblem.TAIL_MISSING,
                f"anchored up to sequence number {seq} at {written_at}, {ends}",
            )
        elif seen.at_anchor.get(chain) != link:
            yield AnchorFinding(
                table,
                chain,
                AnchorProblem.ANCHORED_RECORD_CHANGED,
                f"sequence number {seq} no longer hashes to the link anchored at {written_at}",
            )
