"""The OpenAPI 3.1 document: valid, complete, true to the taxonomy, and open to other modules."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from incident_service import taxonomy
from incident_service.api.openapi import DuplicateOperation, OpenApiRegistry
from tests.factories import report_payload


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _schema(document: dict, name: str) -> dict:
    """A component schema with its $refs resolvable by a plain JSON Schema validator."""
    return {**document["components"]["schemas"][name], "components": document["components"]}


def test_is_the_document_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_does_the_document_describe_every_api_route_and_nothing_else(app, document):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.unknown":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        methods = rule.methods or set()
        # Flask answers HEAD for every GET and OPTIONS for every route by itself; a route that
        # handles them explicitly (tus uploads) must be described.
        automatic = {"OPTIONS"} if rule.provide_automatic_options else set()
        if "GET" in methods:
            automatic.add("HEAD")
        for method in methods - automatic:
            routes.add((path, method.lower()))
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == described


def test_does_the_example_report_match_the_schema(document):
    validator = Draft202012Validator(_schema(document, "ReportBody"))
    assert list(validator.iter_errors(report_payload())) == []
    bad = report_payload(acts=["NOPE"], people={"group_size": 0})
    assert len(list(validator.iter_errors(bad))) == 2


def test_do_the_schema_enums_list_exactly_the_taxonomy_codes(document):
    body = document["components"]["schemas"]["ReportBody"]["properties"]
    assert body["acts"]["items"]["enum"] == taxonomy.ACTS.codes()
    assert body["region"]["enum"][:-1] == taxonomy.REGIONS.codes()
    assert body["people"]["properties"]["citizenship"]["items"]["enum"] == (
        taxonomy.CITIZENSHIPS.codes()
    )
    assert body["outcome"]["enum"][:-1] == taxonomy.OUTCOMES.codes()


def test_does_a_problem_from_the_api_match_the_problem_schema(client, document):
    validator = Draft202012Validator(_schema(document, "Problem"))
    problem = client.post("/api/v1/reports", json={"acts": ["NOPE"]}).get_json(force=True)
    assert list(validator.iter_errors(problem)) == []


def test_does_a_status_answer_match_its_schema(client, document):
    receipt = client.post("/api/v1/reports", json=report_payload()).get_json()["receipt"]
    status = client.post("/api/v1/status", json={"receipt": receipt}).get_json()
    validator = Draft202012Validator(_schema(document, "ReportStatus"))
    assert list(validator.iter_errors(status)) == []


def test_is_no_receipt_ever_a_path_or_query_parameter(document):
    for path, item in document["paths"].items():
        assert "receipt" not in path
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                assert "receipt" not in parameter["name"].lower()


def test_can_another_module_add_its_paths_and_not_overwrite_others():
    registry = OpenApiRegistry(title="t", description="d")
    registry.add_schema("Summary", {"type": "object"})
    registry.add_operation(
        "/summaries/{period}",
        "GET",
        {
            "operationId": "getSummary",
            "parameters": [
                {"name": "period", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": registry.json_response("Summary", "ok")},
        },
    )
    registry.add_schema("Problem", {"type": "object"})
    document = registry.document()
    assert document["paths"]["/summaries/{period}"]["get"]["operationId"] == "getSummary"
    validate(document)
    with pytest.raises(DuplicateOperation):
        registry.add_operation("/summaries/{period}", "get", {"responses": {}})
