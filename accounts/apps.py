from django.apps import AppConfig
from django.db.models.signals import pre_delete


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.models import Credential

        pre_delete.connect(_credential_pre_delete, sender=Credential, dispatch_uid="accounts.credential_deleting")


def _credential_pre_delete(sender, instance, **kwargs) -> None:
    from accounts.services.credentials import credential_deleting

    credential_deleting(credential=instance)
