"""The dashboard page and its CSV and XLSX exports."""

from __future__ import annotations

from dataclasses import replace

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from connectors.base import GRANULARITIES, LEVELS
from currencies.units import minor_units
from reports.query import ReportQueryError
from web import exports, selectors
from web.dashboard import KPIS, STACKS, dashboard_data, dashboard_query, jsonable
from web.dashboard_levels import fetched_levels
from web.dashboard_periods import PRESETS


@login_required
def dashboard(request):
    accounts = selectors.ad_accounts_for_user(request.user).order_by("platform", "name")
    # The form shows what was asked for, also when it was refused (a 400 keeps the filters).
    form = {key: request.GET.get(key, "") for key in request.GET}
    context = {
        "nav": "dashboard",
        "accounts": accounts,
        "levels": LEVELS,
        "granularities": GRANULARITIES,
        "presets": PRESETS,
        "stacks": STACKS,
        "chart_metrics": [(name, label) for name, label, _ in KPIS],
        "platforms": sorted(set(accounts.values_list("platform", flat=True))),
        "selected_accounts": request.GET.getlist("account"),
        "form": form,
        "params": request.GET,
    }
    try:
        query = dashboard_query(user=request.user, params=request.GET)
        data = dashboard_data(query)
    except ReportQueryError as exc:
        context["error"] = str(exc)
        return render(request, "web/dashboard.html", context, status=400)
    offered = fetched_levels(query.account_ids).get(query.granularity) or list(LEVELS)
    form.update(
        start=query.start.isoformat(),
        end=query.end.isoformat(),
        granularity=query.granularity,
        level=query.level,
        compare=query.compare,
        group=query.group,
        stack=query.stack or "",
        currency=query.currency or "",
    )
    pages = max(1, -(-data["top_count"] // data["page_size"]))
    context.update(
        query=query,
        data=data,
        levels=[lv for lv in LEVELS if lv in offered or lv == query.level],
        pages=pages,
        sort_columns=[
            ("impressions", "impressions"),
            ("clicks", "clicks"),
            ("cost", "cost"),
            ("conversions", "conversions"),
            ("ctr", "CTR"),
            ("cpc", "CPC"),
            ("cpa", "CPA"),
        ],
        chart=jsonable(
            {
                "granularity": query.granularity,
                "points": data["timeseries"],
                "stacked": data["stacked"],
                "currency": data["currency"],
                "digits": minor_units(data["currency"] or ""),
            }
        ),
        csv_query=request.GET.urlencode(),
    )
    return render(request, "web/dashboard.html", context)


@login_required
def dashboard_csv(request):
    """The breakdown table (top entities of the chosen level) as CSV, same filters as the page."""
    try:
        query = replace(dashboard_query(user=request.user, params=request.GET), page=1)
        data = dashboard_data(query, top_n=1000)
    except ReportQueryError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    response = HttpResponse(exports.csv_bytes(data["top"]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="adplatform_{query.level}_{query.start}_{query.end}.csv"'
    return response


@login_required
def dashboard_xlsx(request):
    """The breakdown table as an Excel workbook, same filters and columns as the CSV."""
    try:
        query = replace(dashboard_query(user=request.user, params=request.GET), page=1)
        data = dashboard_data(query, top_n=1000)
    except ReportQueryError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    response = HttpResponse(
        exports.xlsx_bytes(data["top"], title=f"{query.level} {query.start}"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="adplatform_{query.level}_{query.start}_{query.end}.xlsx"'
    return response
