"""API routes of the currencies app, mounted at /api/v1/."""

from django.urls import path

from currencies import apis

app_name = "currencies-api"

urlpatterns = [
    path(
        "organizations/<int:pk>/reporting-currency/",
        apis.ReportingCurrencyApi.as_view(),
        name="reporting-currency",
    ),
]
