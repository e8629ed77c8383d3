"""The cart's clock beside ours. The server's clock is always the time of the record; a cart whose
clock has drifted is logged for IT and told so in the answer's `warnings`, nothing more."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
    words = {"difference": _difference(abs(skew), now)}
    if skew > 0:
        message = _(
            "This cart's clock is %(difference)s ahead of the server's. The server's time was "
            "recorded; ask IT to set the cart's clock."
        )
    else:
        message = _(
            "This cart's clock is %(difference)s behind the server's. The server's time was "
            "recorded; ask IT to set the cart's clock."
        )
    return [
        {
            "code": "CLOCK_SKEW",
            "message": message % words,
            "details": {"skew_seconds": skew, "server_time": now.isoformat()},
        }
    ]


def _difference(seconds: int, now: datetime) -> str:
    """As a person says it: "45 seconds", "10 minutes", "1 hour, 1 minute", "1 week, 4 days"."""
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    return timesince(now - timedelta(seconds=seconds), now, depth=2)
