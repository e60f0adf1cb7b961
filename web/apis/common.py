"""Shared pieces of the API views: pagination and filtering inside plain APIViews."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response


def paginated(view, request, queryset, serializer_class) -> Response:
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
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
