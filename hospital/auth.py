"""Badge + PIN as a Django authentication backend, so that django-axes counts every failed PIN
(cart login and high-alert witness alike) and locks the badge out after repeated failures."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from hospital.api import error_body


class BadgePinBackend:
    """`authenticate(request, username=<badge GSRN>, password=<PIN>, badge=True)`."""

    def authenticate(self, request, username=None, password=None, badge=False, **kwargs):
        if not badge or not username or not password:
            return None
        user = (
            get_user_model().objects.prefetch_related("groups").filter(badge_gsrn=username).first()
        )
        if user is None or not user.is_active or not user.check_pin(password):
            return None
        return user

    def get_user(self, user_id):
        return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def lockout_response(request, response=None, credentials=None, *args, **kwargs):
    """JSON for the API; for people, the page they were on with the reason in their language."""
    message = _("Too many failed attempts: this badge is locked for 15 minutes.")
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("LOCKED_OUT", str(message)), status=429)
    if request.path.startswith("/cart/"):
        return render(request, "cart/login.html", {"error": message}, status=429)
    return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
