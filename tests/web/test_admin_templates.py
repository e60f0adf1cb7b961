"""The DAG template admin: JSON editor and graph on the change page, the engine's
validation at the spec field, saving through template_save (new version, DAGs follow)."""

import json

import pytest
from django.test import Client

from ingestion.models import Dag
from tests.web import factories


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(factories.user(superuser=True))
    return client


def _post(admin_client, tpl, spec):
    prefix = "versions"
    return admin_client.post(
        f"/admin/ingestion/dagtemplate/{tpl.pk}/change/",
        {
            "description": "",
            "spec": json.dumps(spec),
            "is_active": "on",
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": str(tpl.versions.count()),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        },
    )


def test_change_page_has_the_json_editor_and_the_graph(admin_client, tpl):
    page = admin_client.get(f"/admin/ingestion/dagtemplate/{tpl.pk}/change/").content.decode()
    assert "dag-spec-editor" in page and 'id="template-graph"' in page
    assert "/static/web/vendor/echarts/echarts.min.js" in page and "/static/web/template_admin.js" in page
    assert "ad_daily_insight_task" in page  # a node of the graph data


def test_an_invalid_spec_is_refused_at_the_field(admin_client, tpl):
    spec = json.loads(json.dumps(tpl.spec))
    spec["tasks"][0]["downstream_task_ids"].append("no_such_task")
    response = _post(admin_client, tpl, spec)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["spec"]
    assert errors == ["tasks[0].downstream_task_ids[2] (task 'dummy_task'): unknown task id 'no_such_task'"]
    assert "unknown task id" in response.content.decode()
    tpl.refresh_from_db()
    assert tpl.version == 1


def test_saving_a_changed_spec_makes_a_version_and_regenerates_the_dags(admin_client, tpl, dag_a):
    spec = json.loads(json.dumps(tpl.spec))
    spec["schedule_interval"] = "15 * * * *"
    response = _post(admin_client, tpl, spec)
    assert response.status_code == 302, response.content.decode()[-3000:]
    tpl.refresh_from_db()
    assert tpl.version == 2 and tpl.versions.count() == 2
    dag = Dag.objects.get(pk=dag_a.pk)
    assert dag.schedule == "15 * * * *" and dag.template_version == 2


def test_taking_another_templates_dag_id_pattern_is_refused_at_the_field(admin_client, tpl, dag_a):
    other = factories.template(name="other")
    spec = json.loads(json.dumps(other.spec))
    spec["dag_id"] = tpl.spec["dag_id"]
    response = _post(admin_client, other, spec)
    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["spec"]
    assert error.startswith(
        f"dag_id: the pattern {tpl.spec['dag_id']!r} is already used by template sandbox/{tpl.name}"
    )
    other.refresh_from_db()
    assert other.version == 1 and other.spec["dag_id"] != tpl.spec["dag_id"]


def test_adding_a_template_gives_existing_accounts_its_dag(admin_client, account_a, account_b):
    spec = {**factories.TEMPLATE, "dag_id": "${platform}_${account_id}_added"}
    response = admin_client.post(
        "/admin/ingestion/dagtemplate/add/",
        {
            "platform": "sandbox",
            "name": "added",
            "description": "",
            "spec": json.dumps(spec),
            "is_active": "on",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
        },
        follow=True,
    )
    assert response.status_code == 200, response.content.decode()[-3000:]
    assert sorted(Dag.objects.filter(template__name="added").values_list("dag_id", flat=True)) == sorted(
        f"sandbox_{a.external_id}_added" for a in (account_a, account_b)
    )
    assert "2 DAG(s) created and 0 re-generated" in response.content.decode()
