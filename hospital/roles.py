"""Each Role is a Group with a fixed set of model permissions, re-synchronised after every migrate."""

from django.apps import apps
from django.contrib.auth.models import Group, Permission

from hospital.models import Role

VIEW_WARDS = [
    f"wards.view_{m}" for m in ("ward", "bed", "patient", "admission", "allergy", "wristband")
]
VIEW_PHARMACY = [
    f"pharmacy.view_{m}"
    for m in ("substance", "medication", "package", "lotrecall", "medicationorder", "scheduleddose")
]
EDIT_FORMULARY = [
    f"pharmacy.{action}_{m}"
    for m in ("substance", "medication", "package", "lotrecall", "medicationorder")
    for action in ("add", "change")
]

INTEROP_VIEW = [
    "interop.view_destination",
    "interop.view_outboundmessage",
    "interop.view_deliveryattempt",
]
# The HIS's messages: the work queue (reprocess, dismiss) and the code mappings behind it.
INBOUND = [
    "interop.view_inboundmessage",
    "interop.change_inboundmessage",
    "interop.view_inboundcodemap",
    "interop.add_inboundcodemap",
    "interop.change_inboundcodemap",
]
# What happened at the bedside, for recalls, reports and follow-up; nobody edits it.
VIEW_RECORDS = [
    "scanning.view_administration",
    "scanning.view_scanevent",
    "scanning.view_accesslog",
    "scanning.view_waste",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.NURSE: VIEW_WARDS + VIEW_PHARMACY,
    Role.CHARGE_NURSE: VIEW_WARDS + VIEW_PHARMACY,
    Role.STUDENT_NURSE: VIEW_WARDS + VIEW_PHARMACY,
    # A marker beside a nurse's role (hospital.models.User.is_instructor): no permissions.
    Role.INSTRUCTOR: [],
    Role.PHARMACIST: VIEW_WARDS
    + VIEW_PHARMACY
    + EDIT_FORMULARY
    + ["wards.add_wristband", "wards.add_allergy", "wards.change_allergy"]
    + INTEROP_VIEW
    + INBOUND
    + VIEW_RECORDS
    + ["interop.change_outboundmessage"],
    Role.ADMIN: VIEW_WARDS
    + VIEW_PHARMACY
    + EDIT_FORMULARY
    + [
        f"wards.{action}_{m}"
        for m in ("ward", "bed", "patient", "admission", "allergy")
        for action in ("add", "change")
    ]
    + ["wards.add_wristband", "hospital.view_user", "hospital.add_user", "hospital.change_user"]
    + INTEROP_VIEW
    + INBOUND
    + VIEW_RECORDS
    + ["interop.add_destination", "interop.change_destination", "interop.change_outboundmessage"]
    # Security: alerts, login delays (lifting one is a change), service accounts for systems.
    + ["hospital.view_securityevent", "hospital.view_loginthrottle", "hospital.view_hospital"]
    + ["hospital.change_loginthrottle"]
    + ["hospital.view_serviceaccount", "hospital.add_serviceaccount"]
    + ["hospital.change_serviceaccount", "oauth2_provider.view_accesstoken"],
}


def sync_role_groups(app_config=None, **_kwargs) -> None:
    """post_migrate is sent once per app, in INSTALLED_APPS order, after every migrate and after
    every flush of a transactional test: the groups are synchronised at the last app's, when every
    app's permissions exist, and a group's set is written only when it differs."""
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if app_config is not None and app_config is not with_models[-1]:
        return
    wanted_codenames = {dotted for codenames in ROLE_PERMISSIONS.values() for dotted in codenames}
    pk_of = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.filter(
            codename__in={dotted.split(".")[1] for dotted in wanted_codenames}
        ).values_list("pk", "content_type__app_label", "codename")
    }
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = {pk_of[dotted] for dotted in codenames if dotted in pk_of}
        if set(group.permissions.values_list("pk", flat=True)) != wanted:
            group.permissions.set(wanted)
