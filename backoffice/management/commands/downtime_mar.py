import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from backoffice.printing.mar import downtime_mar_pdf
from backoffice.printing.selectors import downtime_mar_get
from wards.models import Ward


class Command(BaseCommand):
    help = (
        "Write a ward's downtime MAR (the next 24 h, A4 landscape PDF) to a file. Run it from cron "
        "onto a shared drive, so that a current paper MAR is at hand when the network goes down."
    )

    def add_arguments(self, parser):
        parser.add_argument("ward", help="ward code, e.g. NOI")
        parser.add_argument("--out", type=Path, required=True, help="the PDF file to write")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="language of the sheet (default: %(default)s)",
        )

    def handle(self, *args, ward: str, out: Path, language: str, **options):
        found = Ward.objects.filter(code=ward).first()
        if found is None:
            known = ", ".join(Ward.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(f"No ward {ward!r}. Wards: {known or 'none'}.")
        with translation.override(language):
            sheet = downtime_mar_get(ward=found)
            content = downtime_mar_pdf(sheet)
        _write_atomically(out, content)
        self.stdout.write(
            f"Wrote {out}: ward {found.code}, {len(sheet.patients)} patients, "
            f"printed {sheet.printed_at:%d/%m/%Y %H:%M}."
        )


def _write_atomically(path: Path, content: bytes) -> None:
    """Whoever opens the file during an outage finds the previous sheet or the new one, never
    half of one."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise CommandError(f"No directory {directory}.")
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); give it the mode open() would have given it.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
