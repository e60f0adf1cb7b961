"""`manage.py bootstrap`: make a fresh installation usable (admin user, demo data).

The admin password is generated once and kept in var/admin_password (mode 0600), so
`make run` can print working credentials every time without a password in the repo.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from adplatform.config import new_secret_key, persistent_secret


class Command(BaseCommand):
    help = "Create the admin user (password generated once, printed) and the embedded demo setup."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--no-demo", action="store_true", help="Skip the sandbox demo accounts.")

    def handle(self, *args, **options):
        User = get_user_model()
        username = options["username"]
        password = persistent_secret(settings.VAR_DIR / "admin_password", lambda: new_secret_key()[:20])
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
        if created or not user.check_password(password):
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        for hook in settings.BOOTSTRAP_HOOKS if not options["no_demo"] else []:
            from django.utils.module_loading import import_string

            import_string(hook)(user=user, stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin user: {username}  password: {password}  (kept in {settings.VAR_DIR / 'admin_password'})"
            )
        )
