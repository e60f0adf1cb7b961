"""API routes of the web app, mounted at /api/v1/ (the accounts app mounts its own there
too: platforms/, credentials/, ad-accounts/, organizations/ are theirs)."""

from django.urls import path

from web.apis import dags, fetch, logs, reports, runs, templates

app_name = "web-api"

urlpatterns = [
    path("dag-templates/", templates.TemplateListApi.as_view(), name="dag-templates"),
    path("dag-templates/<int:pk>/", templates.TemplateDetailApi.as_view(), name="dag-template"),
    path("dags/", dags.DagListApi.as_view(), name="dags"),
    path("dags/<int:pk>/", dags.DagDetailApi.as_view(), name="dag"),
    path("dags/<int:pk>/pause/", dags.DagPauseApi.as_view(), name="dag-pause"),
    path("dags/<int:pk>/resume/", dags.DagResumeApi.as_view(), name="dag-resume"),
    path("dags/<int:pk>/trigger/", dags.DagTriggerApi.as_view(), name="dag-trigger"),
    path("runs/", runs.RunListApi.as_view(), name="runs"),
    path("runs/<int:pk>/", runs.RunDetailApi.as_view(), name="run"),
    path("task-instances/", runs.TaskInstanceListApi.as_view(), name="task-instances"),
    path("task-instances/<int:pk>/", runs.TaskInstanceDetailApi.as_view(), name="task-instance"),
    path("task-instances/<int:pk>/clear/", runs.TaskInstanceClearApi.as_view(), name="task-instance-clear"),
    path("task-instances/<int:pk>/retry/", runs.TaskInstanceRetryApi.as_view(), name="task-instance-retry"),
    path(
        "task-instances/<int:pk>/mark-success/",
        runs.TaskInstanceMarkSuccessApi.as_view(),
        name="task-instance-mark-success",
    ),
    path(
        "task-instances/<int:pk>/mark-failed/",
        runs.TaskInstanceMarkFailedApi.as_view(),
        name="task-instance-mark-failed",
    ),
    path("logs/<int:pk>/", logs.TaskLogApi.as_view(), name="log"),
    path("reports/totals/", reports.ReportTotalsApi.as_view(), name="report-totals"),
    path("reports/timeseries/", reports.ReportTimeseriesApi.as_view(), name="report-timeseries"),
    path("reports/top/", reports.ReportTopApi.as_view(), name="report-top"),
    path("reports/compare/", reports.ReportCompareApi.as_view(), name="report-compare"),
    path("reports/dashboard/", reports.DashboardApi.as_view(), name="report-dashboard"),
    path("fetch/", fetch.FetchApi.as_view(), name="fetch"),
]
