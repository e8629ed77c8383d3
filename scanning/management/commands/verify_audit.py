"""``manage.py verify_audit``: walk every audit hash chain and report the first broken link of each;
with ``--anchors DIR`` (or AUDIT_ANCHOR_DIR) also where the database no longer extends the newest
signed anchor there: an emptied ledger, a falling count, a chain cut short, a rewritten head.

Exit status 0 with a summary line when every chain holds, 1 when anything is wrong. Streams the
tables in chunks, so it runs in constant memory on millions of rows (the chain heads aside)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scanning import anchors, audit


class Command(BaseCommand):
    help = (
        "Recompute the hash chains over administrations (per patient) and scan events (per "
        "performer); print the first broken link of each chain; with --anchors, compare with the "
        "newest signed anchor; exit 1 if anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk-size", type=int, default=2000, help="rows read per round trip (2000)"
        )
        parser.add_argument(
            "--anchors",
            dest="anchor_dir",
            metavar="DIR",
            default=settings.AUDIT_ANCHOR_DIR or None,
            help="directory of signed anchors (audit_anchor) to compare with (AUDIT_ANCHOR_DIR)",
        )

    def handle(self, *args, chunk_size: int, anchor_dir: str | None, **options):
        anchor, source = None, None
        if anchor_dir:
            try:
                newest = anchors.newest_anchor(Path(anchor_dir))
            except audit.AnchorError as error:
                raise CommandError(
                    f"Audit anchors cannot be trusted: {error}", returncode=1
                ) from error
            if newest is None:
                raise CommandError(
                    f"No audit anchor in {anchor_dir}: run manage.py audit_anchor first.",
                    returncode=1,
                )
            source, anchor = newest
        report = anchors.audit_walk(anchor, chunk_size=chunk_size)
        for line in anchors.report_lines(report):
            self.stdout.write(line)
        summary = f"{report.tally.chains} chains, {report.tally.records} records checked"
        if anchor:
            summary += f" against the anchor of {anchor.written_at} ({source.name})"
        problems = []
        if report.tally.broken:
            problems.append(f"{report.tally.broken} broken chains")
        if report.findings:
            problems.append(f"{len(report.findings)} differences from the anchor")
        if problems:
            raise CommandError(f"{'; '.join(problems)}; {summary}.", returncode=1)
        self.stdout.write(f"Audit chains intact: {summary}.")
