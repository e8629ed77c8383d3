import contextlib

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.common import CommonMiddleware
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin

from hospital.api import DATABASE_UNAVAILABLE, database_unavailable, error_body
from hospital.sessions import cart_session_touch


class ApiAwareCommonMiddleware(CommonMiddleware):
    """Django's CommonMiddleware, without the slash-appending redirect under /api/: a 301 turns a
    POST into a GET (a record silently lost as a read). There a missing slash is a JSON 404 that
    names the right path (hospital.urls.api_aware_not_found)."""

    def should_redirect_with_slash(self, request):
        if request.path_info.startswith("/api/"):
            return False
        return super().should_redirect_with_slash(request)


class DefaultLanguageMiddleware(MiddlewareMixin):
    """Vietnamese unless the user chose otherwise (the language cookie set by /i18n/setlang/).

    Django's LocaleMiddleware would follow the browser's Accept-Language, and cart browsers are
    often installed in English: the nurses' language must not depend on how a PC was set up."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class DatabaseUnavailableMiddleware:
    """A lost database connection (or a deadlock victim, a lock timeout) is "try again", a 503, not
    a 500 "something is broken". DRF's exception handler answers for the API's own views; this
    answers for the cart pages and the pharmacy site, and for anything under /api/ that escapes
    DRF. The page is rendered without the request: no context processor may reach the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        return unavailable_response(request, exception)


def unavailable_response(request, exception):
    match = getattr(request, "resolver_match", None)
    body, headers = database_unavailable(exception, match.route if match else "page")
    if request.path.startswith("/api/"):
        return JsonResponse(body, status=503, headers=headers)
    return HttpResponse(render_to_string("503.html"), status=503, headers=headers)


class CartSessionIdleMiddleware:
    """Each request of a cart session pushes its server-side end back (hospital/sessions.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a session this request already read (every logged-in request does): no query
        # for anonymous callers, and none when the database is down.
        if session is not None and session.accessed and response.status_code < 500:
            with contextlib.suppress(DATABASE_UNAVAILABLE):
                cart_session_touch(session)
        return response


LOGIN_PATHS = ("/api/v1/auth/", "/oauth/")


class AnonymousBodyLimitMiddleware:
    """A caller who has not logged in may send a small body only (a login form, a token request):
    anything larger is refused from its Content-Length, before any parser reads it. Logged-in
    sessions (a camera frame from a cart) and bearer tokens under /api/ (which DRF checks before
    it parses anything) are not limited here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.ANONYMOUS_MAX_BODY_BYTES:
            try:
                allowed = self._may_send_more(request)
            except DATABASE_UNAVAILABLE as exception:  # reading the session
                return unavailable_response(request, exception)
        if length > settings.ANONYMOUS_MAX_BODY_BYTES and not allowed:
            message = "The request body is too large for a caller who has not logged in."
            if request.path.startswith(LOGIN_PATHS):
                return JsonResponse(error_body("REQUEST_TOO_LARGE", message), status=413)
            if request.path.startswith("/api/"):
                # Any other API endpoint would refuse the caller anyway: say so, unread.
                return JsonResponse(
                    error_body("NOT_AUTHENTICATED", "Log in first."),
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="api"'},
                )
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _may_send_more(request) -> bool:
        bearer = request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer ")
        if bearer and request.path.startswith("/api/"):
            return True
        return request.user.is_authenticated


class LoginGateMiddleware:
    """A source that must wait (hospital/throttle.py) is answered here, before sessions, CSRF,
    parsing or any view: a flood of refused logins costs one indexed read a request. Only the
    JSON login endpoints; the cart's login page answers the same through its view, in words."""

    PATHS = ("/api/v1/auth/badge/", "/oauth/token/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in self.PATHS:
            from hospital.throttle import LoginThrottledError, client_ip, source_wait

            try:
                wait = source_wait(client_ip(request)[:45])
            except DATABASE_UNAVAILABLE as exception:
                return unavailable_response(request, exception)
            if wait:
                refused = LoginThrottledError(wait)
                body = (
                    {"error": "slow_down", "error_description": refused.message}  # RFC 6749
                    if request.path.startswith("/oauth/")
                    else error_body(refused.code, refused.message, refused.details)
                )
                return JsonResponse(
                    body, status=429, headers={"Retry-After": str(refused.retry_after)}
                )
        return self.get_response(request)
