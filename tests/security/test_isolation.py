"""Isolation between enterprises, generated from the stub's own OpenAPI routes, plus the
admin token, the JSON body limit and secrets in the logs (one live stub for the module).

Enterprise A (the demo manufacturer) owns real objects: a declaration uploaded and
converted, an attachment, a document and a feedback job. Enterprise B (the demo trader)
must get ``404 NOT_FOUND`` for each of them on every route that takes an id, and no list
answered to B may name any of A's ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.conftest import DEMO
from tests.security.logscan import assert_no_secret_in_logs, secrets_of
from tests.security.objects import PDF, create_objects, items
from tests.stub.conftest import Stub, start_stub
from tests.stub.helpers import Api, months_back, problem

# Path ids of objects every enterprise sees (notices, guides, downloads are broadcast).
BROADCAST = {"notice_id", "guide_id", "download_id"}
PATH_PARAM = re.compile(r"\{(\w+)\}")


@dataclass
class World:
    stub: Stub
    spec: dict[str, Any]
    a: Api
    b: Api
    ids: dict[str, str]  # path parameter name -> one of A's objects
    owned: set[str]  # every id of A's own objects, as A's lists show them


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("security")
    stub = start_stub(tmp / "stub")
    try:
        a, b = Api(stub, "manufacturer"), Api(stub, "trader")
        ids = create_objects(stub, a, tmp)
        owned = {ids[name] for name in ids.keys() - BROADCAST}
        for path in ("/declarations", "/documents", "/feedback-jobs"):
            owned |= {row["id"] for row in items(a, path, page_size=500)}
        spec = requests.get(stub.url + "/openapi.json", timeout=30).json()
        yield World(stub, spec, a, b, ids, owned)
    finally:
        stub.stop()


def _operations(spec: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith(prefix)
        for method in operations
    ]


def test_every_route_with_an_id_hides_the_other_enterprises_objects(world: World) -> None:
    status = world.a.declaration(world.ids["decl_id"])["status"]
    checked = []
    for method, path in _operations(world.spec, "/api/v1/"):
        params = PATH_PARAM.findall(path)
        if not params or BROADCAST & set(params):
            continue
        unknown = set(params) - world.ids.keys()
        assert not unknown, f"{method} {path}: add an object of A for {unknown} to the matrix"
        url = path.removeprefix("/api/v1").format(**world.ids)
        if method == "GET":
            assert world.a.get(url).status_code != 404, f"A cannot see its own {url}"
        r = world.b.session.request(method, world.stub.api + url, timeout=60, json={})
        body = problem(r, 404, "NOT_FOUND")
        assert not {i for i in world.owned if i in r.text}, body
        checked.append(f"{method} {path}")
    assert len(checked) >= 10, checked
    # A still has everything B tried to change or delete
    assert world.a.declaration(world.ids["decl_id"])["status"] == status
    assert (
        world.a.get(f"/declarations/{world.ids['decl_id']}/attachments/{world.ids['aid']}").content
        == PDF
    )


def test_no_answer_to_b_names_an_object_of_a(world: World) -> None:
    scanned = []
    for method, path in _operations(world.spec, "/api/v1/"):
        if method != "GET" or "{" in path:
            continue
        url = world.stub.api + path.removeprefix("/api/v1")
        r = world.b.session.get(url, params={"page_size": 500}, timeout=60)
        if r.status_code == 422:  # a query that needs a period (exchange rates)
            r = world.b.session.get(url, params={"period": months_back(1)}, timeout=60)
        assert r.status_code < 500, f"{path}: {r.text[:300]}"
        leaked = {i for i in world.owned if i in r.text}
        assert not leaked, f"{path} shows B objects of A: {leaked}"
        scanned.append(path)
    assert {"/api/v1/declarations", "/api/v1/documents", "/api/v1/feedback-jobs"} <= set(scanned), (
        scanned
    )


@pytest.mark.parametrize("token", [None, "", "not-the-admin-token"])
def test_admin_routes_refuse_without_the_admin_token(world: World, token: str | None) -> None:
    operations = _operations(world.spec, "/admin/v1/")
    assert operations
    headers = {} if token is None else {"X-Admin-Token": token}
    for method, path in operations:
        url = world.stub.url + PATH_PARAM.sub(DEMO["manufacturer"][0], path)
        problem(requests.request(method, url, headers=headers, json={}, timeout=30),
                401, "TOKEN_INVALID")  # fmt: skip
    # an enterprise's own bearer token is no admin token either
    url = world.stub.url + "/admin/v1/notices"
    problem(world.a.session.post(url, json={}, timeout=30), 401, "TOKEN_INVALID")


def test_a_json_body_over_one_mib_is_refused(world: World) -> None:
    big = json.dumps({"type": "mdt_summary", "period": "x" * (1024 * 1024)}).encode()
    problem(world.a.post("/documents", data=big, headers={"Content-Type": "application/json"}),
            413, "REQUEST_TOO_LARGE")  # fmt: skip
    # chunked, so no Content-Length announces the size beforehand
    chunks = (big[i : i + 65536] for i in range(0, len(big), 65536))
    problem(world.a.post("/documents", data=chunks, headers={"Content-Type": "application/json"}),
            413, "REQUEST_TOO_LARGE")  # fmt: skip
    assert world.a.get("/enterprise").status_code == 200


def _json_bodies(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, object schema) of every operation that takes a JSON body."""
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                ref = body["schema"].get("$ref", "")
                yield method.upper(), path, schemas.get(ref.rsplit("/", 1)[-1], body["schema"])


def _string_limit(prop: dict[str, Any]) -> int | None:
    """The declared length limit of a string property (an enum limits it too)."""
    for alt in [prop, *prop.get("anyOf", [])]:
        if alt.get("type") == "string":
            return alt.get("maxLength") or (
                len(max(alt["enum"], key=len)) if "enum" in alt else None
            )
    return None


def test_every_string_field_of_a_json_body_is_limited(world: World) -> None:
    """Generated from the OpenAPI document: each string field declares a length limit and
    a 100,000-character value is refused with 422 naming the field — never a 5xx."""
    checked = 0
    for method, path, schema in _json_bodies(world.spec):
        props = schema.get("properties", {})
        strings = {name for name, prop in props.items() if any(
            alt.get("type") == "string" for alt in [prop, *prop.get("anyOf", [])])}  # fmt: skip
        for name in strings:
            assert _string_limit(props[name]), f"{method} {path}: {name} has no maxLength"
            body = {k: ("x" if k in strings else []) for k in schema.get("required", [])}
            body[name] = "票" * 100_000
            url = world.stub.url + PATH_PARAM.sub(
                lambda m: world.ids.get(m.group(1), DEMO["manufacturer"][0]), path
            )
            session = world.a.session if path.startswith("/api/") else requests.Session()
            headers = {"X-Admin-Token": world.stub.admin_token}
            r = session.request(method, url, json=body, headers=headers, timeout=30)
            p = problem(r, 422, "VALIDATION")
            assert re.search(r"[\u4e00-\u9fff]", p["detail"]), p
            assert any(name in str(e.get("field")) for e in p.get("errors", [])), p
            checked += 1
    assert checked >= 10, checked
    assert world.a.get("/enterprise").status_code == 200


def test_no_secret_in_any_log_file(world: World) -> None:
    """Runs last in the module: everything above has been logged by now."""
    assert_no_secret_in_logs(world.stub, secrets_of(world.stub, world.a, world.b))
