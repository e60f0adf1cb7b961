"""django-filter FilterSets of the API's list endpoints."""
import django_filters
from django.apps import apps


class DagFilter(django_filters.FilterSet):
    dag_id = django_filters.CharFilter(lookup_expr="icontains")
    platform = django_filters.CharFilter()
    is_paused = django_filters.BooleanFilter()
    ad_account = django_filters.NumberFilter(field_name="ad_account_id")
    template = django_filters.NumberFilter(field_name="template_id")

    class Meta:
        model = apps.get_model("ingestion", "Dag")
        fields: list[str] = []  # every filter is declared above


class DagRunFilter(django_filters.FilterSet):
    dag = django_filters.NumberFilter(field_name="dag_id")
    state = django_filters.ChoiceFilter(choices=apps.get_model("ingestion", "DagRun").State.choices)
    run_type = django_filters.ChoiceFilter(choices=apps.get_model("ingestion", "DagRun").RunType.choices)
    logical_time_after = django_filters.IsoDateTimeFilter(field_name="logical_time", lookup_expr="gte")
    logical_time_before = django_filters.IsoDateTimeFilter(field_name="logical_time", lookup_expr="lt")

    class Meta:
        model = apps.get_model("ingestion", "DagRun")
        fields: list[str] = []  # every filter is declared above


class TaskInstanceFilter(django_filters.FilterSet):
    run = django_filters.NumberFilter(field_name="run_id")
    dag = django_filters.NumberFilter(field_name="run__dag_id")
    task_id = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=apps.get_model("ingestion", "TaskInstance").State.choices)

    class Meta:
        model = apps.get_model("ingestion", "TaskInstance")
        fields: list[str] = []  # every filter is declared above


class DagTemplateFilter(django_filters.FilterSet):
    platform = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = apps.get_model("ingestion", "DagTemplate")
        fields: list[str] = []  # every filter is declared above
