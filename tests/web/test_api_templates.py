"""DAG template API: CRUD for holders of the DagTemplate model permissions, read for
signed-in users, engine validation at the field path."""

import copy

import pytest
from rest_framework.test import APIClient

from ingestion.models import DagTemplate
from tests.web import factories
from tests.web.factories import TEMPLATE


@pytest.fixture
def staff_api(db):
    """A template editor: staff with the admin's three DagTemplate permissions."""
    client = APIClient()
    client.force_authenticate(factories.user(staff=True, permissions=factories.TEMPLATE_PERMISSIONS))
    return client


def test_create_read_update_delete(staff_api):
    created = staff_api.post(
        "/api/v1/dag-templates/", {"platform": "sandbox", "name": "hourly", "spec": TEMPLATE}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["version"] == 1 and body["spec"]["dag_id"] == TEMPLATE["dag_id"]
    pk = body["id"]
    assert staff_api.get(f"/api/v1/dag-templates/{pk}/").json()["name"] == "hourly"
    assert staff_api.get("/api/v1/dag-templates/?platform=sandbox").json()["count"] == 1
    changed = copy.deepcopy(TEMPLATE)
    changed["schedule_interval"] = "*/30 * * * *"
    updated = staff_api.put(f"/api/v1/dag-templates/{pk}/", {"spec": changed}, format="json")
    assert updated.status_code == 200 and updated.json()["version"] == 2
    patched = staff_api.patch(f"/api/v1/dag-templates/{pk}/", {"is_active": False}, format="json")
    assert patched.json()["is_active"] is False and patched.json()["version"] == 2
    assert staff_api.delete(f"/api/v1/dag-templates/{pk}/").status_code == 204
    assert not DagTemplate.objects.filter(pk=pk).exists()


def test_update_regenerates_the_dags_of_the_template(staff_api, dag_a, tpl):
    changed = copy.deepcopy(TEMPLATE)
    changed["schedule_interval"] = "*/15 * * * *"
    assert staff_api.put(f"/api/v1/dag-templates/{tpl.pk}/", {"spec": changed}, format="json").status_code == 200
    dag_a.refresh_from_db()
    assert dag_a.schedule == "*/15 * * * *" and dag_a.template_version == 2
    assert dag_a.dag_id == f"{dag_a.ad_account.external_id}_today_insights"


def test_validation_errors_point_at_the_field_path(staff_api):
    bad = copy.deepcopy(TEMPLATE)
    bad["tasks"][0]["downstream_task_ids"] = ["account_meta_task", "nope"]
    bad["tasks"][2]["operator_name"] = "no_such_operator"
    response = staff_api.post(
        "/api/v1/dag-templates/", {"platform": "sandbox", "name": "bad", "spec": bad}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["spec"]
    assert any(
        path.startswith("tasks[0].downstream_task_ids") and "nope" in " ".join(msgs) for path, msgs in errors.items()
    )
    assert any(path.startswith("tasks[2]") and "no_such_operator" in " ".join(msgs) for path, msgs in errors.items())
    assert not DagTemplate.objects.filter(name="bad").exists()


def test_cycle_and_bad_cron_are_reported(staff_api):
    bad = copy.deepcopy(TEMPLATE)
    bad["schedule_interval"] = "every hour"
    bad["tasks"][3]["downstream_task_ids"] = ["ad_meta_task"]
    response = staff_api.post(
        "/api/v1/dag-templates/", {"platform": "sandbox", "name": "bad", "spec": bad}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["spec"]
    assert "schedule_interval" in errors
    assert "cycle" in " ".join(m for msgs in errors.values() for m in msgs)


def test_duplicate_name_and_bad_input(staff_api, tpl):
    dup = staff_api.post(
        "/api/v1/dag-templates/", {"platform": tpl.platform, "name": tpl.name, "spec": TEMPLATE}, format="json"
    )
    assert dup.status_code == 400 and "exists" in dup.json()["name"][0]
    missing = staff_api.post("/api/v1/dag-templates/", {"platform": "sandbox", "name": "x"}, format="json")
    assert missing.status_code == 400 and "spec" in missing.json()


def test_members_read_but_cannot_write(api, tpl):
    assert api.get(f"/api/v1/dag-templates/{tpl.pk}/").status_code == 200
    assert (
        api.post(
            "/api/v1/dag-templates/", {"platform": "sandbox", "name": "x", "spec": TEMPLATE}, format="json"
        ).status_code
        == 403
    )
    assert api.patch(f"/api/v1/dag-templates/{tpl.pk}/", {"is_active": False}, format="json").status_code == 403
    assert api.delete(f"/api/v1/dag-templates/{tpl.pk}/").status_code == 403


def test_a_staff_flag_alone_cannot_write_templates(tpl):
    # Finding 2: the admin refuses a staff user without the model permissions; so does the API.
    client = APIClient()
    client.force_authenticate(factories.user(staff=True))
    body = {"platform": "sandbox", "name": "x", "spec": TEMPLATE}
    created = client.post("/api/v1/dag-templates/", body, format="json")
    assert created.status_code == 403
    assert created.json()["detail"] == "add DAG templates needs the permission ingestion.add_dagtemplate"
    assert client.patch(f"/api/v1/dag-templates/{tpl.pk}/", {"is_active": False}, format="json").status_code == 403
    assert client.delete(f"/api/v1/dag-templates/{tpl.pk}/").status_code == 403
    assert DagTemplate.objects.filter(name="x").count() == 0
    # The permission to change is not the permission to delete.
    editor = APIClient()
    editor.force_authenticate(factories.user(staff=True, permissions=["change_dagtemplate"]))
    assert editor.patch(f"/api/v1/dag-templates/{tpl.pk}/", {"is_active": False}, format="json").status_code == 200
    assert editor.delete(f"/api/v1/dag-templates/{tpl.pk}/").status_code == 403


def test_anonymous_cannot_list_templates(tpl):
    # Finding 8: signed-in users only.
    anonymous = APIClient()
    assert anonymous.get("/api/v1/dag-templates/").status_code in (401, 403)
    assert anonymous.get(f"/api/v1/dag-templates/{tpl.pk}/").status_code in (401, 403)


def test_template_with_dags_cannot_be_deleted(staff_api, dag_a, tpl):
    response = staff_api.delete(f"/api/v1/dag-templates/{tpl.pk}/")
    assert response.status_code == 400 and "deactivate" in response.json()["non_field_errors"][0]
    assert DagTemplate.objects.filter(pk=tpl.pk).exists()


def test_a_new_template_reaches_accounts_imported_before_it(staff_api, account_a, account_b):
    spec = {**copy.deepcopy(TEMPLATE), "dag_id": "${account_id}_later"}
    response = staff_api.post(
        "/api/v1/dag-templates/", {"platform": "sandbox", "name": "later", "spec": spec}, format="json"
    )
    assert response.status_code == 201, response.json()
    template = DagTemplate.objects.get(pk=response.json()["id"])
    assert sorted(template.dags.values_list("dag_id", flat=True)) == sorted(
        f"{a.external_id}_later" for a in (account_a, account_b)
    )


def test_a_dag_id_pattern_another_template_uses_is_a_400_at_dag_id(staff_api, tpl, dag_a):
    spec = copy.deepcopy(tpl.spec)
    response = staff_api.post(
        "/api/v1/dag-templates/", {"platform": "sandbox", "name": "copy", "spec": spec}, format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["spec"]["dag_id"]
    assert f"already used by template sandbox/{tpl.name}" in message
    assert not DagTemplate.objects.filter(name="copy").exists() and tpl.dags.count() == 1


def test_the_schema_examples_are_valid_requests(staff_api, account_a):
    """What Swagger UI shows (and schemathesis sends first) is accepted: the example template
    is created and materialized for the platform's account, then the PUT and PATCH examples."""
    from drf_spectacular.generators import SchemaGenerator

    from ingestion.models import Dag

    schema = SchemaGenerator().get_schema(request=None, public=True)

    def example(path, method):
        content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        return next(iter(content["examples"].values()))["value"]

    created = staff_api.post("/api/v1/dag-templates/", example("/api/v1/dag-templates/", "post"), format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    dag = Dag.objects.get(template_id=pk)
    assert dag.dag_id == f"sandbox_{account_a.external_id}_campaign_hourly" and dag.ad_account == account_a
    put = staff_api.put(f"/api/v1/dag-templates/{pk}/", example("/api/v1/dag-templates/{id}/", "put"), format="json")
    assert put.status_code == 200, put.json()
    patch = staff_api.patch(
        f"/api/v1/dag-templates/{pk}/", example("/api/v1/dag-templates/{id}/", "patch"), format="json"
    )
    assert patch.status_code == 200 and patch.json()["is_active"] is False
    dag.refresh_from_db()
    assert dag.is_paused
