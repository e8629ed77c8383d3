"""Chain heads anchored outside the database (the pure part is in scanning/audit.py).

`manage.py audit_anchor` walks every chain and, when they all hold and still extend the newest
anchor, writes the heads and record counts to `audit-heads-<day>.json` in AUDIT_ANCHOR_DIR, signed
with AUDIT_ANCHOR_KEY (HMAC-SHA256): written to a temporary file, flushed to disk, then renamed,
so a reader never sees half a file. `manage.py verify_audit --anchors DIR` compares the database
with the newest anchor there. The directory belongs on another machine or on write-once storage;
the key belongs to neither the database nor its users."""

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from scanning import audit
from scanning.chains import CHAINS

PREFIX = "audit-heads-"


@dataclass
class Report:
    tally: audit.Tally = field(default_factory=audit.Tally)
    breaks: list[audit.Break] = field(default_factory=list)
    findings: list[audit.AnchorFinding] = field(default_factory=list)
    seen: dict[str, audit.Seen] = field(default_factory=dict)

    @property
    def sound(self) -> bool:
        return not self.breaks and not self.findings


def audit_walk(anchor: audit.Anchor | None, *, chunk_size: int = 2000) -> Report:
    """Every chain walked once: its breaks, and where the database no longer extends `anchor`."""
    report = Report()
    for table, (_chain_key, links) in CHAINS.items():
        seen = report.seen[table] = audit.Seen()
        anchored_seqs = anchor.seqs(table) if anchor else {}
        watched = audit.watching(links(chunk_size=chunk_size), seen, anchored_seqs)
        report.breaks.extend(audit.chain_breaks(table, watched, report.tally))
        if anchor and table in anchor.tables:
            report.findings.extend(
                audit.anchor_findings(
                    table, anchor.tables[table], seen, written_at=anchor.written_at
                )
            )
    return report


def signing_key() -> str:
    return settings.AUDIT_ANCHOR_KEY


def anchor_files(directory: Path) -> list[Path]:
    """Anchor files, oldest first (the day in the name sorts)."""
    return sorted(directory.glob(f"{PREFIX}*.json"))


def newest_anchor(directory: Path) -> tuple[Path, audit.Anchor] | None:
    """The newest anchor in `directory`, its signature checked; None when there is none yet."""
    if not directory.is_dir():
        raise audit.AnchorError(f"anchor directory {directory} does not exist")
    files = anchor_files(directory)
    if not files:
        return None
    newest = files[-1]
    try:
        document = json.loads(newest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise audit.AnchorError(f"{newest}: unreadable: {error}") from error
    try:
        return newest, audit.anchor_read(document, signing_key())
    except audit.AnchorError as error:
        raise audit.AnchorError(f"{newest}: {error}") from error


def anchor_write(directory: Path, report: Report, *, day: date | None = None) -> Path:
    """Write the heads `report` saw as the day's anchor, atomically (temporary file, fsync,
    rename, fsync of the directory). A second run on one day replaces that day's file."""
    document = audit.anchor_sign(
        audit.anchor_document(
            written_at=timezone.now(),
            database=str(connection.settings_dict.get("NAME", "")),
            seen=report.seen,
        ),
        signing_key(),
    )
    day = day or timezone.localdate()
    target = directory / f"{PREFIX}{day.isoformat()}.json"
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{PREFIX}", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
    return target


def report_lines(report: Report) -> Iterator[str]:
    for broken in report.breaks:
        chain_key = CHAINS[broken.table][0]
        yield (
            f"BROKEN {broken.table} id={broken.record_id} "
            f"({chain_key} {broken.chain}, seq {broken.seq}): "
            f"{broken.problem}: {broken.detail}"
        )
    for finding in report.findings:
        where = f" ({CHAINS[finding.table][0]} {finding.chain})" if finding.chain else ""
        yield f"ANCHOR {finding.table}{where}: {finding.problem}: {finding.detail}"
