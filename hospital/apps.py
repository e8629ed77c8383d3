from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class HospitalConfig(AppConfig):
    name = "hospital"
    verbose_name = _("Staff and access")

    def ready(self):
        from hospital import checks  # noqa: F401 - registers the system checks
        from hospital.roles import sync_role_groups

        # After the last app migrates, so that every app's permissions exist.
        post_migrate.connect(sync_role_groups, dispatch_uid="hospital.sync_role_groups")
