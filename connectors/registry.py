"""Platforms by slug. Each platform package registers its Connector class here."""
from __future__ import annotations

from importlib import import_module

from connectors.base import Connector, PlatformSpec

# slug -> "module:Class"; imported lazily so one broken connector cannot break the others.
PLATFORMS: dict[str, str] = {
    "sandbox": "connectors.sandbox.connector:SandboxConnector",
}


class UnknownPlatform(KeyError):
    def __str__(self) -> str:
        return f"unknown platform {self.args[0]!r}; known: {', '.join(sorted(PLATFORMS))}"


def connector_class(slug: str) -> type[Connector]:
    try:
        path = PLATFORMS[slug]
    except KeyError:
        raise UnknownPlatform(slug) from None
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def platform_spec(slug: str) -> PlatformSpec:
    return connector_class(slug).spec


def all_specs() -> list[PlatformSpec]:
    return [platform_spec(slug) for slug in PLATFORMS]
