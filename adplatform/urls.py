"""Root URLconf. Each app adds its own urls module here as it grows."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from adplatform import metrics, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # authorization pages (never "" under accounts/: the web app's account list lives there)
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("accounts.api_urls")),
    # the built-in simulated ad platform (ADPLATFORM_SANDBOX=false turns it off)
    *([path("sandbox/", include("connectors.sandbox.urls"))] if settings.SANDBOX_ENABLED else []),
    path("api/v1/", include("web.api_urls")),
    path("api/v1/", include("currencies.api_urls")),
    # last: its "" include would otherwise shadow the paths mounted after it
    path("", include("web.urls")),
]
