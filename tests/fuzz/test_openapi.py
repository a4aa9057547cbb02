"""Schemathesis against the live stub's own /openapi.json, as a logged-in enterprise.

Every operation except the ones that would end or lock the session under test (and the
tax office's /admin routes) gets positive cases (path ids naming the enterprise's real
objects, so the cases reach past the 404) and negative ones: no answer may be a 5xx, and
every answer must match the status codes, media type and schema the document declares.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.livestub import LiveStub
from tests.security.logscan import assert_no_secret_in_logs, secrets_of
from tests.security.objects import create_objects
from tests.services.conftest import login
from tests.stub.helpers import Api

EXCLUDED = ["/api/v1/auth/login", "/api/v1/auth/password", "/api/v1/auth/logout"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PATH_PARAM = re.compile(r"\{(\w+)\}")
MAX_WAIT = 1  # seconds a fuzzed /sync may long-poll; the schema allows 25


def _schema(stub: LiveStub) -> schemathesis.BaseSchema:
    """The stub's document, with ``wait`` bounded so no case hangs."""
    raw: dict[str, Any] = requests.get(stub.url + "/openapi.json", timeout=30).json()
    for operation in raw["paths"]["/api/v1/sync"].values():
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "wait":
                parameter["schema"]["maximum"] = MAX_WAIT
    schema = schemathesis.openapi.from_dict(raw)
    return schema.exclude(path_regex=r"^/admin/").exclude(path=EXCLUDED)


def _fuzz(
    operation: APIOperation,
    mode: GenerationMode,
    ids: dict[str, str] | None,
    examples: int,
    call: Callable[[Case], None],
) -> None:
    """``examples`` cases of ``operation`` in ``mode``, each handed to ``call``; path
    parameters taken from ``ids`` when given."""
    path_ids = None if ids is None else {k: ids[k] for k in PATH_PARAM.findall(operation.path)}

    @settings(
        max_examples=examples,
        derandomize=True,  # the same cases every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_ids))
    def run(case: Case) -> None:
        call(case)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # nothing to make invalid (no parameters, no body): the positive run covers it
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_no_server_error_and_every_answer_in_schema(
    live_stub: LiveStub, fuzz_cases: int, tmp_path: Path
) -> None:
    api = Api(live_stub)
    ids = create_objects(live_stub, api, tmp_path)
    operations = [result.ok() for result in _schema(live_stub).get_all_operations()]
    runs = ((GenerationMode.POSITIVE, ids), (GenerationMode.NEGATIVE, None))
    per_operation = max(1, math.ceil(fuzz_cases / (len(operations) * len(runs))))
    failures: dict[str, str] = {}
    cases = 0

    def call(case: Case) -> None:
        nonlocal cases
        cases += 1
        try:
            case.call_and_validate(
                base_url=live_stub.url, session=api.session, checks=CHECKS, timeout=30
            )
        except (FailureGroup, Exception) as exc:  # keep fuzzing; report each operation once
            failures.setdefault(case.operation.label, f"{exc}")

    for mode, path_ids in runs:
        for operation in operations:
            _fuzz(operation, mode, path_ids, per_operation, call)

    assert cases >= len(operations), cases
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert_no_secret_in_logs(live_stub, secrets_of(live_stub, api))


@pytest.mark.parametrize(
    ("component", "change"),
    [
        ("Enterprise", {"required": ["protocol_v2_member"]}),  # a member the answer lacks
        ("Enterprise", {"properties": {"kind": {"enum": ["个体工商户"]}}}),  # another enum
        ("Enterprise", {"properties": {"filing_date": {"type": "integer"}}}),  # another type
        ("EnterpriseSections", {"required": ["tax_rates"]}),  # in a nested component
    ],
)
def test_the_checks_catch_an_answer_outside_the_schema(
    session_stub: LiveStub, component: str, change: dict[str, Any]
) -> None:
    """The fuzz checks really compare answers with the document: against a document that
    declares GET /enterprise differently from what the platform sends, a case fails."""
    session = requests.Session()  # the services' login: the shared stub keeps one password
    session.headers["Authorization"] = f"Bearer {login(session_stub, 'manufacturer').token}"
    raw: dict[str, Any] = requests.get(session_stub.url + "/openapi.json", timeout=30).json()
    declared = raw["components"]["schemas"][component]
    for key, value in change.items():
        if isinstance(value, dict):
            for member, schema in value.items():
                declared[key][member] = schema
        elif isinstance(value, list):
            declared[key] = declared[key] + value
        else:
            declared[key] = value
    operation = schemathesis.openapi.from_dict(raw)["/api/v1/enterprise"]["GET"]
    case = operation.Case()
    case.call_and_validate(base_url=session_stub.url, session=session, checks=CHECKS[:3])
    with pytest.raises(FailureGroup) as failed:
        case.call_and_validate(base_url=session_stub.url, session=session, checks=CHECKS)
    assert "Response violates schema" in str(failed.value), failed.value


def test_a_wrong_method_names_every_method_of_the_path(session_stub: LiveStub) -> None:
    """Found by schemathesis (unsupported_method): ``Allow`` named only the first route of
    a path that several routes share, e.g. ``Allow: POST`` for /documents."""
    spec = requests.get(session_stub.url + "/openapi.json", timeout=30).json()
    for path, operations in spec["paths"].items():
        documented = {method.upper() for method in operations}
        wrong = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in documented)
        url = session_stub.url + path.replace("{", "").replace("}", "")
        r = requests.request(wrong, url, timeout=30)
        assert r.status_code == 405, (path, r.text)
        assert r.json()["code"] == "METHOD_NOT_ALLOWED"
        assert set(r.headers["Allow"].split(", ")) == documented, (path, r.headers["Allow"])
