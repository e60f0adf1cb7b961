"""Model fields whose values are encrypted at rest (see accounts.crypto).

The database holds Fernet tokens only; Python code sees plaintext. Empty values are
stored as "" (not encrypted) so "no refresh token" stays queryable. Lookups other than
isnull/exact-empty make no sense on ciphertext and are not supported.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models.expressions import Combinable

from accounts import crypto


class EncryptedTextField(models.TextField):
    description = "Text encrypted at rest with MultiFernet"

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return crypto.decrypt(value)

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(str(value))

    def value_to_string(self, obj):
        # dumpdata must never write plaintext secrets
        return "***"


class EncryptedJSONField(models.TextField):
    """A dict kept as encrypted JSON (secrets of password flows, developer tokens...)."""

    description = "JSON object encrypted at rest with MultiFernet"
    # What django-stubs' plugin reads as the attribute's types (a TextField's would be str).
    _pyi_private_set_type: dict[str, Any] | Combinable  # type: ignore[assignment]
    _pyi_private_get_type: dict[str, Any]  # type: ignore[assignment]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if not value:
            return {}
        return json.loads(crypto.decrypt(value))

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        return json.loads(value)

    def get_prep_value(self, value):
        if not value:
            return ""
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj):
        # dumpdata must never write plaintext secrets
        return "***"
