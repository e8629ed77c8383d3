from django.core.management.base import BaseCommand

from scanning.demo_history import demo_bedside_history_load, demo_missing_dose_load


class Command(BaseCommand):
    help = (
        "Write the demo hospital's bedside history (a patch on a patient, past insulin sites, "
        "a dose asked for from the pharmacy). "
        "Run after the hospital is loaded; safe to run again."
    )

    def handle(self, *args, **options):
        written = demo_bedside_history_load()
        self.stdout.write(f"Demo bedside history: {written} new record(s).")
        requested = demo_missing_dose_load()
        self.stdout.write(f"Demo missing-dose requests: {requested} new.")
