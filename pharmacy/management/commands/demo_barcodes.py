from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from pharmacy.demo import demo_barcodes_write


class Command(BaseCommand):
    help = "Draw the demo wristbands, badges and medication labels as printable images (fixtures/barcodes/)."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=settings.BASE_DIR / "fixtures" / "barcodes")

    def handle(self, *args, out: Path, **options):
        index = demo_barcodes_write(out)
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(index)} images and index.json to {out}"))
