from django.apps import AppConfig


class WardsConfig(AppConfig):
    name = "wards"
