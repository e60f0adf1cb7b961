"""Saving a template checks each task's params against its platform (through the operator's
check_params), so a level the platform lacks is refused on save, not at run time."""

import pytest

from ingestion.dagspec import TemplateInvalid
from ingestion.models import DagTemplate
from ingestion.services.templates import template_save, template_validate

pytestmark = pytest.mark.django_db


def _spec(params):
    return {
        "dag_id": "${account_id}_x",
        "schedule_interval": "@daily",
        "tasks": [{"task_id": "meta", "operator_name": "ad_meta_operator", "params": params}],
    }


def test_a_level_the_platform_lacks_is_refused_with_its_path_and_nothing_is_saved():
    with pytest.raises(TemplateInvalid) as caught:
        template_save(platform="baidu", name="bad", spec=_spec({"levels": ["campaign", "creative_set"]}))
    message = str(caught.value)
    assert "tasks[0].params (task 'meta')" in message and "creative_set" in message
    assert not DagTemplate.objects.filter(name="bad").exists()


def test_params_that_fit_the_platform_pass_and_no_platform_means_no_param_check():
    template_validate(spec=_spec({"levels": ["campaign", "ad"]}), platform="sandbox")
    template_validate(spec=_spec({"levels": ["creative_set"]}))  # platform unknown: structure only
    assert template_save(platform="sandbox", name="ok", spec=_spec({"levels": ["campaign"]})).created


def test_the_admin_form_shows_the_param_issue_at_the_spec_field():
    from ingestion.admin import DagTemplateForm

    form = DagTemplateForm(
        data={
            "platform": "baidu",
            "name": "f",
            "description": "",
            "is_active": True,
            "spec": '{"dag_id": "${account_id}_f", "schedule_interval": "@daily", "tasks": '
            '[{"task_id": "m", "operator_name": "insight_operator", "params": {"granularity": "week"}}]}',
        }
    )
    assert not form.is_valid()
    assert "tasks[0].params" in " ".join(form.errors["spec"]) and "granularity" in " ".join(form.errors["spec"])
