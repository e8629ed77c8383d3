from django.conf import settings
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin


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
