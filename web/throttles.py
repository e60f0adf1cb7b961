"""Rate limit of real-time fetches, per organization (not per user: an organization's
accounts share the platforms' quotas, however many of its people press "fetch now").

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

    def get_cache_key(self, request, view):
        organization_id = getattr(request, "fetch_organization_id", None)
        if organization_id is None:
            return None  # nothing to fetch (unknown account): the view answers 400/404
        return self.cache_format % {"scope": self.scope, "ident": f"org{organization_id}"}
