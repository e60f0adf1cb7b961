"""Pages (server-rendered) and the API schema/docs, mounted at "/"."""

from django.contrib.auth import views as auth_views
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from web.views import accounts, dags, dashboard, logs

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("dashboard.csv", dashboard.dashboard_csv, name="dashboard-csv"),
    path("dashboard.xlsx", dashboard.dashboard_xlsx, name="dashboard-xlsx"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    path("accounts/", accounts.account_list, name="accounts"),
    path("dags/", dags.dag_list, name="dags"),
    path("dags/<int:pk>/", dags.dag_detail, name="dag"),
    path("dags/<int:pk>/trigger/", dags.dag_trigger, name="dag-trigger"),
    path("dags/<int:pk>/pause/", dags.dag_pause, name="dag-pause"),
    path("dags/<int:pk>/resume/", dags.dag_resume, name="dag-resume"),
    path("task-instances/<int:pk>/clear/", dags.task_clear, name="task-clear"),
    path("task-instances/<int:pk>/retry/", dags.task_retry, name="task-retry"),
    path("task-instances/<int:pk>/mark-success/", dags.task_mark_success, name="task-mark-success"),
    path("task-instances/<int:pk>/mark-failed/", dags.task_mark_failed, name="task-mark-failed"),
    path("task-instances/<int:pk>/log/", logs.task_log, name="task-log"),
    path("task-instances/<int:pk>/log/<int:try_number>/", logs.task_log, name="task-log-try"),
    path("task-instances/<int:pk>/log/<int:try_number>/download/", logs.task_log_download, name="task-log-download"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="web:api-schema"), name="api-docs"),
]
