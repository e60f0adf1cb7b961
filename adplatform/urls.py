"""Root URLconf. Each app adds its own urls module here as it grows."""
from django.contrib import admin
from django.urls import include, path

from adplatform import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("sandbox/", include("connectors.sandbox.urls")),  # the built-in simulated ad platform
    # The web app's pages and API are mounted once its models land (issues 4, 5, 7):
    # path("api/v1/", include("web.api_urls")),
    # path("", include("web.urls")),
]
