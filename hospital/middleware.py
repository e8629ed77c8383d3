from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin

from hospital.api import DATABASE_UNAVAILABLE, database_unavailable


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
        match = request.resolver_match
        body, headers = database_unavailable(exception, match.route if match else "page")
        if request.path.startswith("/api/"):
            return JsonResponse(body, status=503, headers=headers)
        return HttpResponse(render_to_string("503.html"), status=503, headers=headers)
