"""`manage.py rotate_credential_keys`: re-encrypt every stored secret under the newest key.

Put a new key first in CREDENTIALS_KEYS (keep the old ones after it), run this, then the
old keys can be dropped. Works on the raw ciphertext (never decrypted into Python model
objects, never printed) and writes each value back only if the row still holds the
ciphertext it read: a token refreshed meanwhile is not overwritten with the old one.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts import crypto
from accounts.fields import EncryptedJSONField, EncryptedTextField
from accounts.models import Credential, PendingAuthorization, PlatformApp

MODELS = (PlatformApp, Credential, PendingAuthorization)
BATCH = 500


def encrypted_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if isinstance(f, (EncryptedTextField, EncryptedJSONField))]


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret (platform apps, credentials, pending authorizations) "
        "under the newest CREDENTIALS_KEYS key."
    )

    def handle(self, *args, **options):
        total, unreadable = 0, []
        for model in MODELS:
            for field in encrypted_fields(model):
                done, bad = self._rotate(model, field)
                total += done
                unreadable += [f"{model.__name__} #{pk} {field.name}" for pk in bad]
                self.stdout.write(f"{model.__name__}.{field.name}: {done} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} secrets re-encrypted under the newest key"))
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secrets cannot be decrypted with any key in CREDENTIALS_KEYS and were left as "
                "they are: "
                f"{', '.join(unreadable[:20])}{' ...' if len(unreadable) > 20 else ''}; put the key they were written "
                "with back into CREDENTIALS_KEYS (after the newest) and run this again"
            )

    def _rotate(self, model, field) -> tuple[int, list[int]]:
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(field.column)
        pk = connection.ops.quote_name(model._meta.pk.column)
        done, last = 0, None
        bad: list[int] = []
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} WHERE {column} <> '' AND {column} IS NOT NULL"  # noqa: S608 (our table and column names)
                    + (f" AND {pk} > %s" if last is not None else "")
                    + f" ORDER BY {pk} LIMIT {BATCH}",
                    [last] if last is not None else [],
                )
                rows = cursor.fetchall()
            if not rows:
                return done, bad
            with transaction.atomic(), connection.cursor() as cursor:
                for row_pk, ciphertext in rows:
                    try:
                        rotated = crypto.rotate(ciphertext)
                    except crypto.SecretUnreadable:
                        bad.append(row_pk)
                        continue
                    cursor.execute(
                        f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",  # noqa: S608 (our names)
                        [rotated, row_pk, ciphertext],
                    )
                    done += cursor.rowcount
            last = rows[-1][0]
