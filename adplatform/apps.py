from django.apps import AppConfig


class AdplatformConfig(AppConfig):
    name = "adplatform"
    verbose_name = "adplatform"
