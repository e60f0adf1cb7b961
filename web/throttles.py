"""Rate limit of real-time fetches, per organization (not per user: an organization's
accounts share the platforms' quotas, however many of its people press "fetch now").

The key is the organization of the ad account the request names, resolved after the
input is validated (so `7`, `7.0` and `" 7"` are one account and one count): the view
calls `fetch_throttle(...)` once it holds the account; nothing else counts fetches.

Counts live in Django's cache: LocMem in the embedded mode (one process), Redis in
service mode (settings.CACHES), so every web process shares one count.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class OrganizationFetchThrottle(SimpleRateThrottle):
    scope = "fetch"

    def get_rate(self):
        return settings.FETCH_RATE

    def __init__(self, organization_id: int):
        self.organization_id = organization_id
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"org{self.organization_id}"}


def fetch_throttle(view, request, *, organization_id: int) -> None:
    """Count one fetch of the organization; 429 (DRF's Throttled, with Retry-After) past FETCH_RATE."""
    throttle = OrganizationFetchThrottle(organization_id)
    if not throttle.allow_request(request, view):
        view.throttled(request, throttle.wait())
