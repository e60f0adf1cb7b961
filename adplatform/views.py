"""Project-level views: health."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from adplatform.health import platform_health


@require_GET
def healthz(request):
    report = platform_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
