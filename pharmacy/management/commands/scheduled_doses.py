from django.conf import settings
from django.core.management.base import BaseCommand

from pharmacy.services import scheduled_doses_generate


class Command(BaseCommand):
    help = (
        "Materialise scheduled doses for every running order up to DOSE_SCHEDULE_HORIZON_HOURS ahead. "
        "Safe to run as often as you like (run it hourly from cron)."
    )

    def handle(self, *args, **options):
        attempted = scheduled_doses_generate()
        self.stdout.write(
            f"Scheduled doses up to {settings.DOSE_SCHEDULE_HORIZON_HOURS} h ahead ({attempted} due times checked)."
        )
