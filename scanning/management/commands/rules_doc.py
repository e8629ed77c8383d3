"""``manage.py rules_doc``: write docs/rules.md from the rules' catalogue; ``--check`` writes
nothing and exits 1 when the page differs from what the catalogue and the tests say (CI runs it)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scanning.rules_doc import render


class Command(BaseCommand):
    help = "Write docs/rules.md from scanning/rules/catalogue.py; --check: exit 1 when it is stale."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="do not write; exit 1 when the page is stale"
        )
        parser.add_argument(
            "--output", type=Path, default=None, help="the page (default: docs/rules.md)"
        )

    def handle(self, *args, check: bool, output: Path | None, **options):
        base_dir = Path(settings.BASE_DIR)
        page = output or base_dir / "docs" / "rules.md"
        text = render(base_dir)
        if check:
            current = page.read_text(encoding="utf-8") if page.exists() else None
            if current != text:
                raise CommandError(f"{page} is stale: run `make rules-doc` and commit it")
            self.stdout.write(f"{page} is up to date")
            return
        page.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {page}")
