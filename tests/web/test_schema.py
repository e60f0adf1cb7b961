"""The OpenAPI schema: valid, without a drf-spectacular warning, lists described as pages."""

import io

import yaml
from django.core.management import call_command


def test_schema_validates_without_warnings(db):
    out = io.StringIO()
    # --fail-on-warn raises SchemaGenerationError on any warning (name collisions, unresolved types)
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = yaml.safe_load(out.getvalue())
    dags = schema["paths"]["/api/v1/dags/"]["get"]
    assert {p["name"] for p in dags["parameters"]} >= {"is_paused", "platform", "limit", "offset"}
    assert dags["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PaginatedDagList")
    states = next(p for p in schema["paths"]["/api/v1/runs/"]["get"]["parameters"] if p["name"] == "state")
    assert sorted(states["schema"]["enum"]) == ["failed", "queued", "running", "success"]
    operation_ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))
