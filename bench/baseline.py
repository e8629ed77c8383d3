"""The bare endpoint that `bench.administer` measures beside check and record, in the same run.

`POST /bench/baseline/ {"badge": "<GSRN>"}`: DRF with no authentication, one indexed read (the
user by badge GSRN, a unique index) and one insert (a scan event), in one durable transaction.
It is what any write request on this stack costs at least: routing, DRF parsing and rendering,
a round trip to PostgreSQL for the read, and a commit. Routed only when `settings.BENCH_BASELINE`
is on (`bench.settings` turns it on; production never does).
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from scanning.models import ScanEvent, ScanPurpose


class BaselineApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    def post(self, request):
        badge = str(request.data.get("badge", ""))[:18]
        with transaction.atomic(durable=True):
            performer_id = (
                get_user_model()
                .objects.filter(badge_gsrn=badge)
                .values_list("pk", flat=True)
                .first()
            )
            if performer_id is None:
                return Response({"error": {"code": "UNKNOWN_BADGE"}}, status=404)
            event = ScanEvent.objects.create(
                performer_id=performer_id,
                purpose=ScanPurpose.DECODE,
                scans=[{"slot": "badge", "raw": badge}],
            )
        return Response({"id": str(event.external_id)}, status=201)
