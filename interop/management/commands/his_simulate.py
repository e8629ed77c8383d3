import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from interop import conf
from interop.hl7v2 import AckParseError, ack_parse
from interop.inbound import his_day
from interop.mllp import MllpClient, MllpError
from interop.models import CodeMapKind, InboundCodeMap
from pharmacy.models import Medication


class Command(BaseCommand):
    help = (
        "Play a realistic ward day from a simulated HIS into a running `mllp_inbound` over MLLP: "
        "admissions, orders, a change, a discontinuation, a transfer, an update and a discharge. "
        "Watch the orders arrive in /pharmacy/verify/ and anything unmappable in the work queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="default INBOUND_MLLP_HOST")
        parser.add_argument("--port", type=int, default=None, help="default INBOUND_MLLP_PORT")
        parser.add_argument(
            "--delay", type=float, default=1.0, help="seconds between messages (default 1)"
        )
        parser.add_argument(
            "--no-mapping",
            action="store_true",
            help="do not map the simulated drug codes to the demo formulary (see the work queue)",
        )

    def handle(self, *args, host=None, port=None, delay=1.0, no_mapping=False, **options):
        host = host or conf.get("INBOUND_MLLP_HOST")
        port = port or conf.get("INBOUND_MLLP_PORT")
        if not no_mapping:
            for his_code, (name, medication_code) in his_day.DEMO_DRUG_CODES.items():
                medication = Medication.objects.filter(code=medication_code).first()
                if medication is None:
                    raise CommandError(
                        f"{medication_code} is not in the formulary: load the demo first "
                        "(manage.py demo_load) or use --no-mapping."
                    )
                InboundCodeMap.objects.get_or_create(
                    kind=CodeMapKind.MEDICATION,
                    his_code=his_code,
                    hospital=None,  # the province's default: a hospital's own mapping stays
                    defaults={"medication": medication, "his_name": name},
                )
        start = timezone.localtime().replace(second=0, microsecond=0) - timedelta(minutes=60)
        client = MllpClient(host, port)
        try:
            for label, message in his_day.ward_day(start):
                try:
                    reply = client.exchange(message, timeout=30)
                    ack = ack_parse(reply)
                except (MllpError, AckParseError) as error:
                    raise CommandError(f"{label}: {error}") from error
                explanation = f" – {ack.text}" if ack.text else ""
                self.stdout.write(f"{ack.code}  {label}{explanation}")
                time.sleep(delay)
        finally:
            client.close()
