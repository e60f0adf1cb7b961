"""Admin of exchange rates (overrides are added here) and reporting currencies."""

from django.contrib import admin

from accounts import access
from currencies.models import ExchangeRate, ReportingCurrency


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ("day", "currency", "rate", "source", "note", "updated_by", "updated_at")
    list_filter = ("source", "currency")
    date_hierarchy = "day"
    search_fields = ("currency", "note")
    readonly_fields = ("updated_by", "updated_at")

    def get_changeform_initial_data(self, request):
        # What an admin adds by hand is an override; fetched rates come from the ECB job.
        return {"source": ExchangeRate.Source.OVERRIDE}

    def save_model(self, request, obj, form, change):
        obj.currency = obj.currency.upper()
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ReportingCurrency)
class ReportingCurrencyAdmin(admin.ModelAdmin):
    list_display = ("organization", "currency", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def get_queryset(self, request):
        # Staff see and change only organizations they manage (superusers: all).
        return super().get_queryset(request).filter(organization__in=access.manageable_organizations(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization":
            kwargs["queryset"] = access.manageable_organizations(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.currency = obj.currency.upper()
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
