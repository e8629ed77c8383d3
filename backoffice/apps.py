from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The pharmacy site and every back-office page: the one app allowed to import them all."""

    name = "backoffice"
