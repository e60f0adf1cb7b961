"""Shared pieces of the API views: pagination and filtering inside plain APIViews, and
their OpenAPI description (drf-spectacular only infers these for generic views)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response


def paginated(view, request, queryset, serializer_class) -> Response:
    paginator = LimitOffsetPagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def filtered(filterset_class, request, queryset):
    """Apply a django-filter FilterSet; invalid filter values are a 400 naming the field."""
    from rest_framework.exceptions import ValidationError

    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def get_scoped(queryset, pk):
    return get_object_or_404(queryset, pk=pk)


# Most specific first: ChoiceFilter's subclasses and IsoDateTimeFilter before their bases.
_FILTER_TYPES = (
    (django_filters.IsoDateTimeFilter, OpenApiTypes.DATETIME),
    (django_filters.DateFilter, OpenApiTypes.DATE),
    (django_filters.BooleanFilter, OpenApiTypes.BOOL),
    (django_filters.NumberFilter, OpenApiTypes.INT),
    (django_filters.ChoiceFilter, OpenApiTypes.STR),
    (django_filters.CharFilter, OpenApiTypes.STR),
)


def filter_parameters(filterset_class) -> list[OpenApiParameter]:
    """Query parameters of a FilterSet's declared filters, typed like the filter parses them."""
    parameters = []
    for name, flt in filterset_class.base_filters.items():
        kind = next((t for cls, t in _FILTER_TYPES if isinstance(flt, cls)), OpenApiTypes.STR)
        choices = flt.extra.get("choices")
        enum = [value for value, _ in choices] if isinstance(flt, django_filters.ChoiceFilter) and choices else None
        parameters.append(
            OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=False, enum=enum, description=flt.label or "")
        )
    return parameters


def list_parameters(filterset_class) -> list[OpenApiParameter]:
    """A list endpoint's parameters: its filters plus limit/offset pagination."""
    return [
        *filter_parameters(filterset_class),
        OpenApiParameter(
            "limit", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False, description="page size (default 50)"
        ),
        OpenApiParameter(
            "offset", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False, description="rows to skip"
        ),
    ]


def paginated_schema(serializer_class):
    """The limit/offset envelope around a list of `serializer_class`, for the schema."""
    name = serializer_class.__name__.removesuffix("Output")
    return inline_serializer(
        f"Paginated{name}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )
