"""Platforms by slug. Each platform package registers its Connector class here.

`connector_for_app` / `connector_for_account` build a ready connector from the database
objects (accounts.PlatformApp, accounts.AdAccount): the app's decrypted credentials, and
endpoints layered as spec defaults < settings.PLATFORM_ENDPOINTS[slug] < the app's own
`endpoints`. A default endpoint may contain `{public_url}` (the built-in sandbox lives
on our own server), filled from settings.PUBLIC_URL.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from connectors.base import AccountRef, AppConfig, Connector, PlatformSpec

# slug -> "module:Class"; imported lazily so one broken connector cannot break the others.
PLATFORMS: dict[str, str] = {
    "sandbox": "connectors.sandbox.connector:SandboxConnector",
    "sandbox_password": "connectors.sandbox.connector:SandboxPasswordConnector",
    "oceanengine": "connectors.oceanengine.connector:OceanEngineConnector",
    "kuaishou": "connectors.kuaishou.connector:KuaishouConnector",
    "baidu": "connectors.baidu.connector:BaiduConnector",
    "meta": "connectors.meta.connector:MetaConnector",
    "google_ads": "connectors.google_ads.connector:GoogleAdsConnector",
    "tiktok": "connectors.tiktok.connector:TikTokConnector",
}


class UnknownPlatform(KeyError):
    def __str__(self) -> str:
        return f"unknown platform {self.args[0]!r}; known: {', '.join(sorted(PLATFORMS))}"


class NoPlatformApp(LookupError):
    """An account or credential has no usable platform app to call the platform with."""


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


def endpoints_for(slug: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The base URLs a connector of `slug` uses: spec defaults, then settings, then `overrides`."""
    from django.conf import settings

    spec = platform_spec(slug)
    configured = (getattr(settings, "PLATFORM_ENDPOINTS", {}) or {}).get(slug, {}) or {}
    if not isinstance(configured, dict):
        raise ValueError(f"ADPLATFORM_ENDPOINTS[{slug!r}] must be an object of endpoint name -> URL")
    merged = {**spec.default_endpoints, **configured, **(overrides or {})}
    public_url = getattr(settings, "PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    return {name: url.replace("{public_url}", public_url) for name, url in merged.items()}


def app_config(platform_app: Any) -> AppConfig:
    """An AppConfig from an accounts.PlatformApp (its fields are decrypted on access)."""
    return AppConfig(
        client_id=platform_app.client_id or "",
        client_secret=platform_app.client_secret or "",
        redirect_uri=platform_app.redirect_uri or "",
        extra=dict(platform_app.extra or {}),
    )


def connector_for_app(platform_app: Any, **kwargs) -> Connector:
    """A connector for an accounts.PlatformApp, with its credentials and endpoint overrides."""
    cls = connector_class(platform_app.platform)
    endpoints = endpoints_for(platform_app.platform, dict(platform_app.endpoints or {}))
    return cls(app_config(platform_app), endpoints=endpoints, **kwargs)


def connector_for_platform(slug: str, **kwargs) -> Connector:
    """A connector for `slug` with the platform's active app, or, for platforms that need
    no app (the sandbox accepts any client), an empty one."""
    app = _default_app(slug)
    if app is not None:
        return connector_for_app(app, **kwargs)
    cls = connector_class(slug)
    if getattr(cls, "requires_app", True):
        raise NoPlatformApp(f"no active platform app for {slug!r}; add one in the admin (Platform apps)")
    return cls(AppConfig(client_id=""), endpoints=endpoints_for(slug), **kwargs)


def connector_for_account(ad_account: Any, **kwargs) -> Connector:
    """The connector an operator uses for `ad_account`: the app its credential was granted
    through, else the platform's active app."""
    credential = getattr(ad_account, "credential", None)
    app = getattr(credential, "app", None) if credential is not None else None
    if app is not None:
        return connector_for_app(app, **kwargs)
    return connector_for_platform(ad_account.platform, **kwargs)


def account_ref(ad_account: Any) -> AccountRef:
    """What a fetch needs to know about an accounts.AdAccount."""
    return AccountRef(
        external_id=str(ad_account.external_id),
        timezone=ad_account.timezone or "UTC",
        currency=ad_account.currency or "",
        raw=dict(getattr(ad_account, "raw", None) or {}),
    )


def _default_app(slug: str):
    try:
        from accounts.models import PlatformApp
    except ImportError:  # accounts models not installed (connectors used on their own)
        return None
    return PlatformApp.objects.filter(platform=slug, is_active=True).order_by("pk").first()
