"""App config for the web app."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connect notification receivers to the signals other apps send, when they exist.
        from web import notifications

        notifications.connect_signals()
