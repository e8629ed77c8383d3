from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AccessToken

import gs1
from backoffice.admin.tenancy import HospitalChoices, hospitals_of, staff_of_my_hospitals
from backoffice.admin_site import ReadOnlyAdmin, pharmacy_site
from backoffice.printing.views import BADGE_PERMISSION, badges_response
from backoffice.tenancy import (
    login_delays_of_my_hospitals,
    security_events_of_my_hospitals,
    tokens_of_my_hospitals,
)
from hospital.auth import staff_pin_set
from hospital.models import (
    Hospital,
    LoginThrottle,
    SecurityEvent,
    ServiceAccount,
    User,
    pin_validator,
)
from hospital.scopes import SCOPES
from hospital.service_accounts import (
    service_account_create,
    service_account_new_secret,
    service_account_revoke,
)
from hospital.throttle import login_throttle_rows_release

# Permission names are stored in English when `migrate` creates them; show them translated.
PERMISSION_ACTIONS = {
    "add": _("Can add"),
    "change": _("Can change"),
    "delete": _("Can delete"),
    "view": _("Can view"),
}


def permission_label(permission) -> str:
    action = PERMISSION_ACTIONS.get(permission.codename.split("_", 1)[0])
    return f"{permission.content_type} | {action or permission.name}"


@admin.register(Hospital, site=pharmacy_site)
class HospitalAdmin(admin.ModelAdmin):
    """The province's hospitals: an administrator sees her own; a superuser adds and edits them
    (backoffice/tenancy.py)."""

    list_display = ["code", "name", "gln", "hl7_facility"]
    search_fields = ["code", "name", "gln"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=hospitals_of(request.user).values("pk"))


@admin.register(User, site=pharmacy_site)
class StaffAdmin(HospitalChoices, UserAdmin):
    list_display = ["username", "first_name", "last_name", "badge_gsrn", "is_active"]
    list_filter = ["groups", "is_active", ("hospitals", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["username", "first_name", "last_name", "badge_gsrn"]
    fieldsets = [
        *UserAdmin.fieldsets,
        (_("Badge"), {"fields": ["badge_gsrn"]}),
        (_("Hospitals"), {"fields": ["hospitals"]}),
    ]
    filter_horizontal = [*UserAdmin.filter_horizontal, "hospitals"]

    def get_queryset(self, request):
        """Staff of her hospitals: an administrator manages her hospital's accounts only."""
        return staff_of_my_hospitals(request.user, super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # A new account works where its creator does, until she says otherwise.
            obj.hospitals.set(hospitals_of(request.user))

    actions = ["print_badges"]
    change_form_template = "pharmacy/print/user_change_form.html"

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<id>/pin/",
                self.admin_site.admin_view(self.pin_view),
                name="hospital_user_pin",
            ),
            *super().get_urls(),
        ]

    def pin_view(self, request, id):
        staff = self.get_object(request, id)
        if staff is None:
            raise Http404
        if not self.has_change_permission(request, staff):
            raise PermissionDenied
        form = PinForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            staff_pin_set(staff=staff, pin=form.cleaned_data["pin"], by=request.user)
            self.message_user(request, _("PIN set."), messages.SUCCESS)
            return redirect("pharmacy:hospital_user_change", staff.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "staff": staff,
        }
        return TemplateResponse(request, "pharmacy/staff_pin.html", context)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "user_permissions":
            field.label_from_instance = permission_label
        return field

    def has_print_badge_permission(self, request):
        return request.user.has_perm(BADGE_PERMISSION)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "can_print_badge": self.has_print_badge_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Print badges (PDF)"), permissions=["print_badge"])
    def print_badges(self, request, queryset):
        """One ID-1 page per selected user with a valid badge GSRN; the others are named."""
        users = list(queryset.exclude(badge_gsrn=None).prefetch_related("groups"))
        printable = [user for user in users if gs1.is_valid_gsrn(user.badge_gsrn)]
        missing = sorted(
            set(queryset.values_list("username", flat=True)) - {u.username for u in printable}
        )
        if missing:
            self.message_user(
                request,
                _("No valid badge GSRN, no badge: %(users)s") % {"users": ", ".join(missing)},
                messages.WARNING,
            )
        return badges_response(request, printable) if printable else None


@admin.register(SecurityEvent, site=pharmacy_site)
class SecurityEventAdmin(ReadOnlyAdmin):
    """Alerts and the actions that answer them: read-only."""

    list_display = ["created_at", "kind", "source_ip", "credential", "failures", "actor", "subject"]
    list_filter = ["kind"]
    search_fields = ["source_ip", "credential", "actor__username", "subject__username"]
    list_select_related = ["actor", "subject"]
    date_hierarchy = "created_at"
    fields = [*list_display, "cart"]
    readonly_fields = fields

    def get_queryset(self, request):
        """Her hospitals' staff's and systems' events; those about no one known are a
        superuser's (backoffice/tenancy.py)."""
        return security_events_of_my_hospitals(request.user, super().get_queryset(request))


@admin.register(LoginThrottle, site=pharmacy_site)
class LoginThrottleAdmin(ReadOnlyAdmin):
    """Failed-login counters and the delays they impose; an administrator lifts a delay with the
    "Let in" action (a charge nurse can do it at the cart, /cart/release/)."""

    list_display = ["credential", "source_ip", "cart", "scope", "failures", "blocked_until"]
    list_filter = ["scope"]
    search_fields = ["credential", "source_ip", "cart"]
    fields = [*list_display, "last_failure_at"]
    readonly_fields = fields
    actions = ["release"]

    def get_queryset(self, request):
        """Her hospitals' staff's credentials; a source's counters are a superuser's (and a
        charge nurse clears her cart's at the cart)."""
        return login_delays_of_my_hospitals(request.user, super().get_queryset(request))

    def has_release_permission(self, request):
        return request.user.has_perm("hospital.change_loginthrottle")

    @admin.action(description=_("Let in: forget these failures"), permissions=["release"])
    def release(self, request, queryset):
        cleared = login_throttle_rows_release(rows=list(queryset), by=request.user)
        self.message_user(
            request, _("Delays lifted: %(count)d.") % {"count": cleared}, messages.SUCCESS
        )


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("New PIN"),
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        validators=[pin_validator],
    )
    again = forms.CharField(
        label=_("New PIN again"),
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("pin") and data.get("pin") != data.get("again"):
            raise forms.ValidationError(_("The two PINs differ."))
        return data


class ServiceAccountForm(forms.Form):
    use_required_attribute = False  # the page explains a missing field in its own language
    name = forms.SlugField(label=_("name"), max_length=100, help_text=_("e.g. his or mirth"))
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=[(scope, f"{scope} – {text}") for scope, text in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    def clean_name(self):
        name = self.cleaned_data["name"]
        if ServiceAccount.objects.filter(name=name).exists():
            raise forms.ValidationError(_("A service account with this name exists."))
        return name


@admin.register(ServiceAccount, site=pharmacy_site)
class ServiceAccountAdmin(ReadOnlyAdmin):
    """Systems that read the API (OAuth2 client credentials): issued here by an administrator,
    who sees the client secret once; listed, given a new secret or revoked here."""

    list_display = ["name", "client_id", "scopes", "created_at", "created_by", "revoked_at"]
    list_filter = ["revoked_at"]
    fields = list_display
    readonly_fields = fields
    list_select_related = ["application", "created_by"]
    actions = ["revoke", "new_secret"]

    def get_queryset(self, request):
        """The systems reading her hospitals' wards."""
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user__hospitals__in=hospitals_of(request.user)).distinct()

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("hospital.add_serviceaccount")

    def has_issue_permission(self, request):
        return request.user.has_perm("hospital.change_serviceaccount")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ServiceAccountForm(request.POST or None)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form}
        if request.method == "POST" and form.is_valid():
            account, secret = service_account_create(
                name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], by=request.user
            )
            return self._secret_page(request, account, secret)
        return TemplateResponse(request, "pharmacy/service_account_add.html", context)

    def _secret_page(self, request, account, secret):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "account": account,
            "secret": secret,
        }
        response = TemplateResponse(request, "pharmacy/service_account_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke (its tokens stop working at once)"), permissions=["issue"])
    def revoke(self, request, queryset):
        for account in queryset:
            service_account_revoke(account=account, by=request.user)
        self.message_user(request, _("Revoked."), messages.SUCCESS)

    @admin.action(description=_("Issue a new client secret"), permissions=["issue"])
    def new_secret(self, request, queryset):
        accounts = list(queryset.filter(revoked_at=None))
        if len(accounts) != 1:
            self.message_user(request, _("Choose one active service account."), messages.WARNING)
            return None
        secret = service_account_new_secret(account=accounts[0], by=request.user)
        return self._secret_page(request, accounts[0], secret)


@admin.register(AccessToken, site=pharmacy_site)
class ServiceTokenAdmin(ReadOnlyAdmin):
    """Tokens issued to service accounts, until they expire; revoking one ends it at once."""

    list_display = ["application", "scope", "created", "expires"]
    list_select_related = ["application"]
    fields = list_display
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def get_queryset(self, request):
        """The tokens of the systems that work in her hospitals."""
        return tokens_of_my_hospitals(request.user, super().get_queryset(request))

    def has_revoke_permission(self, request):
        return request.user.has_perm("hospital.change_serviceaccount")

    @admin.action(description=_("Revoke these tokens"), permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        for token in queryset:
            token.revoke()
        self.message_user(request, _("Revoked."), messages.SUCCESS)
