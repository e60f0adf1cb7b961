"""Encryption of secrets at rest: MultiFernet over settings.CREDENTIALS_KEYS (newest first).

Decryption tries every key, so old rows keep working after a new key is put in front;
`manage.py rotate_credential_keys` then re-encrypts every secret under the newest key,
after which the old key can be dropped. No Django models here.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.CREDENTIALS_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with any key in CREDENTIALS_KEYS; "
            "put the key it was written with back into CREDENTIALS_KEYS (after the newest)"
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the newest key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored secret cannot be decrypted with any key in CREDENTIALS_KEYS") from None
