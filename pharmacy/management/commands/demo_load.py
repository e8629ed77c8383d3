from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from pharmacy.demo import demo_counts, demo_hospital_load, read_demo


class Command(BaseCommand):
    help = "Load the demo hospital (fixtures/demo_hospital.json). Safe to run again: nothing is duplicated."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args, quiet_logins=False, **options):
        summary = demo_hospital_load()
        # The bedside's history (scanning), by the command's name: this layer cannot import it.
        if "demo_bedside_history" in get_commands():
            call_command("demo_bedside_history", stdout=self.stdout)
        created = (
            ", ".join(f"{count} {name}" for name, count in summary.created.items() if count)
            or "nothing new"
        )
        self.stdout.write(self.style.SUCCESS(f"Demo hospital loaded ({created})."))
        counts = demo_counts(read_demo())
        self.stdout.write(
            "{wards} wards, {beds} beds; {admitted} admitted patients, {discharged} discharged, "
            "{deceased} deceased; {medications} formulary items with {gtins} GTINs, "
            "{recalled_lots} recalled lot(s); {orders} orders, {awaiting_verification} awaiting "
            "verification.".format(**counts)
        )
        if quiet_logins:
            return
        self.stdout.write(
            "\nDemo logins (cart: badge + PIN; pharmacy site /pharmacy/: username + password)"
        )
        for person in summary.staff:
            login = f"password {person['password']}" if person["password"] else ""
            badge = f"badge (8017){person['badge']}  PIN {person['pin']}" if person["badge"] else ""
            self.stdout.write(
                f"  {person['role']:<13} {person['username']:<16} {person['name']:<22} {badge}  {login}"
            )
        self.stdout.write("\nPatients (wristband = (8018)GSRN(8019)instance)")
        for patient in summary.patients:
            state = "" if patient["band_active"] else "  [band void]"
            self.stdout.write(
                f"  {patient['ward']:<6}{patient['bed']:<3} {patient['mrn']} {patient['name']:<22} "
                f"(8018){patient['gsrn']}(8019){patient['band_instance']}{state}"
            )
