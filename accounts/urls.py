"""Browser pages of authorization, mounted at /accounts/. No "" pattern: the web app's
/accounts/ page (the account list) lives at the bare prefix."""

from django.urls import path

from accounts import (
    admin_authorize,  # noqa: F401 - adds the admin's authorize links and re-authorize action
    views,
)

app_name = "accounts"

urlpatterns = [
    path("authorize/<slug:platform>/", views.authorize, name="authorize"),
    path("callback/<slug:platform>/", views.callback, name="callback"),
    path("credentials/<int:pk>/accounts/", views.pick, name="pick"),
    path("credentials/<int:pk>/discover/", views.discover, name="discover"),
]
