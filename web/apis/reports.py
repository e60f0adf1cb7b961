"""Report queries: totals, time series, top entities, period-over-period, and the dashboard
bundle (all of them in one call, what the dashboard page shows).

Accounts are the user's own: asking for another organization's account is a 404, and
with no `account` every account of the user's organizations is included.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from connectors.base import GRANULARITIES, LEVELS
from currencies.units import CurrencyError, currency_code
from reports.query import MAX_TOP_N, ReportQueryError
from reports.selectors import report_compare, report_timeseries, report_top_entities, report_totals
from web import selectors
from web.apis import report_schemas as schemas
from web.dashboard import DashboardQuery, check_report_date, dashboard_json, jsonable


class CurrencyField(serializers.CharField):
    def to_internal_value(self, data):
        try:
            return currency_code(super().to_internal_value(data))
        except CurrencyError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ReportInput(serializers.Serializer):
    account = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        help_text="ad account ids (repeat the parameter); default: all of yours",
    )
    platform = serializers.RegexField(r"^[a-z0-9_]{1,32}$", required=False)
    start = serializers.DateField(required=False, help_text="first local date (default: 6 days before end)")
    end = serializers.DateField(required=False, help_text="last local date, inclusive (default: today)")
    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")
    level = serializers.ChoiceField(choices=LEVELS, default="account")
    metrics = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, help_text="extra metrics to include, extra.NAME"
    )
    currency = CurrencyField(required=False, help_text="only rows in this currency (ISO 4217), shown unconverted")
    to_currency = CurrencyField(
        required=False,
        help_text="convert mixed currencies to this one (default: the organization's reporting currency)",
    )


class TopInput(ReportInput):
    order_by = serializers.CharField(default="cost", max_length=80)
    n = serializers.IntegerField(default=20, min_value=1, max_value=MAX_TOP_N)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=10**9, help_text="entities to skip (paging)")
    descending = serializers.BooleanField(default=True)


class CompareInput(ReportInput):
    compare = serializers.ChoiceField(
        choices=["period", "year"], default="period", help_text="previous period, or the same dates a year earlier"
    )


class DashboardInput(ReportInput):
    level = serializers.ChoiceField(choices=LEVELS, default="campaign")
    order_by = serializers.CharField(default="cost", max_length=80)


def _params(request, input_class) -> dict:
    data = {key: request.query_params.get(key) for key in request.query_params}
    for many in ("account", "metrics"):
        if many in request.query_params:
            data[many] = request.query_params.getlist(many)
    serializer = input_class(data=data)
    serializer.is_valid(raise_exception=True)
    values = dict(serializer.validated_data)
    for name in ("start", "end"):
        if values.get(name):
            try:
                check_report_date(values[name], name)
            except ReportQueryError as exc:
                raise ValidationError({exc.field: [exc.message]}) from None
    return values


def _filters(request, values: dict) -> dict:
    """Scoped filter arguments of the report selectors."""
    accounts = selectors.ad_accounts_for_user(request.user)
    if values.get("platform"):
        accounts = accounts.filter(platform=values["platform"])
    visible = set(accounts.values_list("pk", flat=True))
    wanted = values.get("account")
    if wanted:
        missing = sorted(set(wanted) - visible)
        if missing:
            raise NotFound(f"no ad account {missing[0]}")
        account_ids = sorted(set(wanted))
    else:
        account_ids = sorted(visible)
    end = values.get("end") or timezone.localdate()
    start = values.get("start") or end - timedelta(days=6)
    return {
        "account_ids": account_ids,
        "start": start,
        "end": end,
        "granularity": values["granularity"],
        "level": values["level"],
        "platform": values.get("platform"),
        "metrics": values.get("metrics") or (),
        "currency": values.get("currency"),
        "to_currency": values.get("to_currency"),
    }


def _run(call):
    try:
        return Response(jsonable(call()))
    except ReportQueryError as exc:
        raise ValidationError({exc.field: [exc.message]}) from None


class ReportTotalsApi(APIView):
    @extend_schema(parameters=[ReportInput], responses={200: schemas.TOTALS})
    def get(self, request):
        filters = _filters(request, _params(request, ReportInput))
        return _run(lambda: report_totals(**filters))


class ReportTimeseriesApi(APIView):
    @extend_schema(parameters=[ReportInput], responses={200: schemas.TIMESERIES})
    def get(self, request):
        filters = _filters(request, _params(request, ReportInput))
        return _run(lambda: report_timeseries(**filters))


class ReportTopApi(APIView):
    @extend_schema(parameters=[TopInput], responses={200: schemas.TOP})
    def get(self, request):
        values = _params(request, TopInput)
        filters = _filters(request, values)
        return _run(
            lambda: report_top_entities(
                order_by=values["order_by"],
                n=values["n"],
                offset=values["offset"],
                descending=values["descending"],
                **filters,
            )
        )


class ReportCompareApi(APIView):
    @extend_schema(parameters=[CompareInput], responses={200: schemas.COMPARE})
    def get(self, request):
        values = _params(request, CompareInput)
        filters = _filters(request, values)
        return _run(lambda: report_compare(previous=values["compare"], **filters))


class DashboardApi(APIView):
    """Everything the dashboard shows: KPIs with change, the time series, the top entities."""

    @extend_schema(parameters=[DashboardInput], responses={200: schemas.DASHBOARD})
    def get(self, request):
        values = _params(request, DashboardInput)
        filters = _filters(request, values)
        query = DashboardQuery(
            account_ids=tuple(filters["account_ids"]),
            start=filters["start"],
            end=filters["end"],
            granularity=filters["granularity"],
            level=filters["level"],
            platform=filters["platform"],
            order_by=values["order_by"],
            currency=filters["currency"],
        )
        try:
            return Response(dashboard_json(query))
        except ReportQueryError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
