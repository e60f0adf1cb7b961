from django.apps import AppConfig


class CurrenciesConfig(AppConfig):
    name = "currencies"
    verbose_name = "Currencies and exchange rates"
    default_auto_field = "django.db.models.BigAutoField"
