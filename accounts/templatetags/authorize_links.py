"""`{% authorize_platforms as platforms %}`: the platforms an admin can authorize accounts
on, with the URL of each one's start page (accounts.views.authorize)."""

from django import template
from django.urls import reverse

from connectors import registry

register = template.Library()


@register.simple_tag
def authorize_platforms() -> list[dict]:
    return [
        {"slug": spec.slug, "name": spec.display_name, "url": reverse("accounts:authorize", args=[spec.slug])}
        for spec in registry.all_specs()
    ]
