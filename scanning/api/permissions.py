from django.utils.translation import gettext_lazy
from rest_framework.permissions import BasePermission

from hospital.models import Role


class MayAdminister(BasePermission):
    """Nurses, charge nurses and student nurses: the people who give medication at the bedside
    (a student's records need an instructor's co-sign: scanning/rules/cosign.py)."""

    message = gettext_lazy("Only nurses may do this.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.may_administer)


class IsClinicalStaff(BasePermission):
    """Anyone who may read a patient's medication record."""

    message = gettext_lazy("Only clinical staff may read medication records.")

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_active
            and user.has_role(
                Role.NURSE, Role.CHARGE_NURSE, Role.STUDENT_NURSE, Role.PHARMACIST, Role.ADMIN
            )
        )


class IsPharmacy(BasePermission):
    """Pharmacists and administrators: the pharmacy's side of a request."""

    message = gettext_lazy("Only the pharmacy may do this.")

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_active
            and (user.is_superuser or user.has_role(Role.PHARMACIST, Role.ADMIN))
        )
