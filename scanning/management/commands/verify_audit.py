"""``manage.py verify_audit``: walk every audit hash chain and report the first broken link of each.

Exit status 0 with a summary line when every chain holds, 1 when any is broken. Streams the tables
in chunks, so it runs in constant memory on millions of rows."""

from django.core.management.base import BaseCommand, CommandError

from scanning import audit
from scanning.chains import CHAINS


class Command(BaseCommand):
    help = (
        "Recompute the hash chains over administrations (per patient) and scan events (per "
        "performer); print the first broken link of each chain; exit 1 if any is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--chunk-size", type=int, default=2000, help="rows read per round trip (2000)"
        )

    def handle(self, *args, chunk_size: int, **options):
        tally = audit.Tally()
        for table, (chain_key, links) in CHAINS.items():
            for broken in audit.chain_breaks(table, links(chunk_size=chunk_size), tally):
                self.stdout.write(
                    f"BROKEN {broken.table} id={broken.record_id} "
                    f"({chain_key} {broken.chain}, seq {broken.seq}): "
                    f"{broken.problem}: {broken.detail}"
                )
        summary = f"{tally.chains} chains, {tally.records} records checked"
        if tally.broken:
            raise CommandError(f"{tally.broken} broken chains; {summary}.", returncode=1)
        self.stdout.write(f"Audit chains intact: {summary}.")
