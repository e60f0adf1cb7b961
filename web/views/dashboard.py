"""The dashboard page and its CSV and XLSX exports."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from connectors.base import GRANULARITIES, LEVELS
from reports.query import ReportQueryError
from web import exports, selectors
from web.dashboard import dashboard_data, dashboard_query, jsonable


@login_required
def dashboard(request):
    accounts = selectors.ad_accounts_for_user(request.user).order_by("platform", "name")
    context = {
        "nav": "dashboard",
        "accounts": accounts,
        "levels": LEVELS,
        "granularities": GRANULARITIES,
        "platforms": sorted(set(accounts.values_list("platform", flat=True))),
        "selected_accounts": request.GET.getlist("account"),
    }
    try:
        query = dashboard_query(user=request.user, params=request.GET)
        data = dashboard_data(query)
    except ReportQueryError as exc:
        context["error"] = str(exc)
        return render(request, "web/dashboard.html", context, status=400)
    context.update(
        query=query,
        data=data,
        chart=jsonable({"granularity": query.granularity, "points": data["timeseries"]}),
        csv_query=request.GET.urlencode(),
    )
    return render(request, "web/dashboard.html", context)


@login_required
def dashboard_csv(request):
    """The breakdown table (top entities of the chosen level) as CSV, same filters as the page."""
    try:
        query = dashboard_query(user=request.user, params=request.GET)
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
        query = dashboard_query(user=request.user, params=request.GET)
        data = dashboard_data(query, top_n=1000)
    except ReportQueryError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    response = HttpResponse(
        exports.xlsx_bytes(data["top"], title=f"{query.level} {query.start}"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="adplatform_{query.level}_{query.start}_{query.end}.xlsx"'
    return response
