"""``manage.py audit_anchor``: anchor the audit chains outside the database (scanning/anchors.py).

Walks every chain; when they all hold and still extend the newest anchor in the directory, writes
the day's signed head file there (replacing an earlier one of the same day) and exits 0. Otherwise
it writes nothing, prints what is wrong and exits 1: a trail emptied or cut short is never
anchored as if it were whole. Run it from cron or the systemd timer (deploy/systemd/)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scanning import anchors, audit


class Command(BaseCommand):
    help = (
        "Verify the audit chains against the newest anchor and write today's signed head file "
        "to AUDIT_ANCHOR_DIR (or --dir); exit 1, writing nothing, if anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            dest="anchor_dir",
            default=settings.AUDIT_ANCHOR_DIR or None,
            help="where the anchors are kept (AUDIT_ANCHOR_DIR)",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=2000, help="rows read per round trip (2000)"
        )

    def handle(self, *args, anchor_dir: str | None, chunk_size: int, **options):
        if not anchor_dir:
            raise CommandError("Set AUDIT_ANCHOR_DIR (or pass --dir): where to keep the anchors.")
        if not anchors.signing_key():
            raise CommandError("Set AUDIT_ANCHOR_KEY: the key the anchors are signed with.")
        directory = Path(anchor_dir)
        try:
            newest = anchors.newest_anchor(directory)
        except audit.AnchorError as error:
            raise CommandError(f"Not anchored: {error}", returncode=1) from error
        anchor = newest[1] if newest else None
        report = anchors.audit_walk(anchor, chunk_size=chunk_size)
        for line in anchors.report_lines(report):
            self.stdout.write(line)
        if not report.sound:
            raise CommandError(
                f"Not anchored: {report.tally.broken} broken chains, {len(report.findings)} "
                "differences from the newest anchor.",
                returncode=1,
            )
        path = anchors.anchor_write(directory, report)
        self.stdout.write(
            f"Anchored {report.tally.chains} chains, {report.tally.records} records: {path}"
        )
