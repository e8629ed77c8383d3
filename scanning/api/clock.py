"""The cart's clock beside ours. The server's clock is always the time of the record; a cart whose
clock has drifted is logged for IT and told so in the answer's `warnings`, nothing more."""

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger("bcma.clock")


def clock_warnings(*, client_time: datetime | None, cart: str, endpoint: str) -> list[dict]:
    if client_time is None:
        return []
    now = timezone.now()
    skew = round((client_time - now).total_seconds())
    if abs(skew) <= settings.CLOCK_SKEW_WARN_SECONDS:
        return []
    # The cart and the difference only: nothing about the patient.
    logger.warning(
        "cart clock off by %+d s (cart %s, %s)",
        skew,
        cart or "-",
        endpoint,
        extra={"cart": cart, "skew_seconds": skew, "endpoint": endpoint},
    )
    return [
        {
            "code": "CLOCK_SKEW",
            "message": _(
                "This cart's clock is %(seconds)d seconds off the server's. The server's time "
                "was recorded; ask IT to set the cart's clock."
            )
            % {"seconds": abs(skew)},
            "details": {"skew_seconds": skew, "server_time": now.isoformat()},
        }
    ]
