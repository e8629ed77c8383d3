from django.apps import AppConfig


class ScanningConfig(AppConfig):
    name = "scanning"

    def ready(self):
        from scanning import checks  # noqa: F401
