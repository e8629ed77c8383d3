from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from hospital.admin_site import pharmacy_site
from hospital.models import User


@admin.register(User, site=pharmacy_site)
class StaffAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "badge_gsrn", "is_active"]
    list_filter = ["groups", "is_active"]
    search_fields = ["username", "first_name", "last_name", "badge_gsrn"]
    fieldsets = [*UserAdmin.fieldsets, ("Badge", {"fields": ["badge_gsrn"]})]
