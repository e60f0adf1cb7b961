"""django-filter FilterSets of the API's list endpoints."""

import django_filters
from django import forms

from accounts.access import MAX_ID
from ingestion.models import Dag, DagRun, DagTemplate, TaskInstance


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error naming the value instead of being
    read as "no filter" (django-filter's default), which would answer every row."""

    widget = forms.TextInput

    def to_python(self, value):
        text = str(value).strip().lower() if value is not None else ""
        if text == "":
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(f"expected true or false, got {value!r}", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class IdFilter(django_filters.NumberFilter):
    """A primary key: an integer in the databases' BIGINT range (a bigger one is a 400
    naming the filter, not an overflow deep in the database driver)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class DagFilter(django_filters.FilterSet):
    dag_id = django_filters.CharFilter(lookup_expr="icontains")
    platform = django_filters.CharFilter()
    is_paused = StrictBooleanFilter()
    ad_account = IdFilter(field_name="ad_account_id")
    template = IdFilter(field_name="template_id")

    class Meta:
        model = Dag
        fields: list[str] = []  # every filter is declared above


class DagRunFilter(django_filters.FilterSet):
    dag = IdFilter(field_name="dag_id")
    state = django_filters.ChoiceFilter(choices=DagRun.State.choices)
    run_type = django_filters.ChoiceFilter(choices=DagRun.RunType.choices)
    logical_time_after = django_filters.IsoDateTimeFilter(field_name="logical_time", lookup_expr="gte")
    logical_time_before = django_filters.IsoDateTimeFilter(field_name="logical_time", lookup_expr="lt")

    class Meta:
        model = DagRun
        fields: list[str] = []  # every filter is declared above


class TaskInstanceFilter(django_filters.FilterSet):
    run = IdFilter(field_name="run_id")
    dag = IdFilter(field_name="run__dag_id")
    task_id = django_filters.CharFilter()
    state = django_filters.ChoiceFilter(choices=TaskInstance.State.choices)

    class Meta:
        model = TaskInstance
        fields: list[str] = []  # every filter is declared above


class DagTemplateFilter(django_filters.FilterSet):
    platform = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains")
    is_active = StrictBooleanFilter()

    class Meta:
        model = DagTemplate
        fields: list[str] = []  # every filter is declared above
