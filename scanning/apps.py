from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScanningConfig(AppConfig):
    name = "scanning"
    verbose_name = _("Bedside records")

    def ready(self):
        from scanning import checks  # noqa: F401
