"""The sandbox ad platform's URLs, mounted at /sandbox/ by adplatform/urls.py."""

from django.urls import path

from connectors.sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("oauth/authorize", views.authorize, name="authorize"),
    path("oauth/token", views.token, name="token"),
    path("oauth/revoke", views.revoke, name="revoke"),
    path("api/v1/advertisers", views.advertisers, name="advertisers"),
    path("api/v1/advertisers/<str:adv_id>", views.advertiser, name="advertiser"),
    path("api/v1/advertisers/<str:adv_id>/reports", views.report, name="report"),
    path("api/v1/advertisers/<str:adv_id>/<str:kind>", views.objects, name="objects"),
]
