"""Writes of the accounts app: tokens, credentials, importing, authorization (one module each)."""
