"""A cart's session: who logged in, at which cart, for which ward, and for how long.

The page locks itself after `CART_IDLE_LOCK_SECONDS`; the server ends the session a little later
(`CART_SESSION_GRACE_SECONDS`), each request pushing the end back (`CartSessionIdleMiddleware`),
so that a cart whose page died, or a cookie copied from it, opens nothing after the idle time."""

import time

from django.conf import settings
from django.contrib.auth import login

SEEN = "cart_seen_at"
# A request within this many seconds of the last save does not save the session again: one
# write per cart every few seconds at most, not one per scan.
REFRESH_SECONDS = 10


def cart_session_start(request, user, *, cart: str, ward: str) -> None:
    """Log a staff member in at a cart (a new session key, a new CSRF token)."""
    login(request, user, backend="hospital.auth.StaffBackend")
    request.session["cart"] = cart
    request.session["ward"] = ward
    request.session[SEEN] = int(time.time())
    request.session.set_expiry(
        settings.CART_IDLE_LOCK_SECONDS + settings.CART_SESSION_GRACE_SECONDS
    )


def cart_session_touch(session) -> None:
    """Push the end of a cart session back: saving it renews its expiry date in the database."""
    seen = session.get(SEEN)
    if seen is None:
        return
    now = int(time.time())
    if now - seen >= REFRESH_SECONDS:
        session[SEEN] = now
