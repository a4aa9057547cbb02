"""Every error is problem+json, and /openapi.json says so for every route."""

from __future__ import annotations

import requests

from tests.livestub import LiveStub
from tests.stub.helpers import Api, problem


def test_framework_errors_are_problems(live_stub: LiveStub) -> None:
    api = Api(live_stub)
    problem(api.get("/no/such/route"), 404, "NOT_FOUND")
    problem(requests.get(live_stub.url + "/nowhere", timeout=30), 404, "NOT_FOUND")
    problem(api.delete("/enterprise"), 405, "METHOD_NOT_ALLOWED")
    body = problem(api.get("/declarations", params={"page": "0"}), 422, "VALIDATION")
    assert body["errors"] and body["errors"][0]["field"] == "page"
    problem(api.get("/declarations", params={"status": "lost"}), 422, "VALIDATION")
    problem(api.post("/auth/password", data=b"{not json", headers={"Content-Type": "application/json"}),
            422, "VALIDATION")  # fmt: skip
    big = b'{"contact_name": "' + b"x" * (1024 * 1024) + b'"}'
    problem(api.put("/enterprise/contact", data=big, headers={"Content-Type": "application/json"}),
            413, "REQUEST_TOO_LARGE")  # fmt: skip
    health = requests.get(live_stub.api + "/health", timeout=30).json()
    assert health["status"] == "ok" and health["version"] and "+08:00" in health["time"]


def test_openapi_documents_problem_answers(live_stub: LiveStub) -> None:
    spec = requests.get(live_stub.url + "/openapi.json", timeout=30).json()
    assert "Problem" in spec["components"]["schemas"]
    public = {"/api/v1/health", "/api/v1/auth/login"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            errors = {c: r for c, r in op["responses"].items() if c[0] in "45"}
            if path == "/api/v1/health":
                continue
            assert errors, (method, path)
            for code, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (
                    method,
                    path,
                    code,
                )
            if path not in public:
                assert "401" in errors, (method, path)
    ours = {("post", "/api/v1/declarations"), ("post", "/api/v1/declarations/{decl_id}/convert"),
            ("post", "/admin/v1/declarations/{decl_id}/approve"),
            ("get", "/api/v1/e-info/customs"), ("post", "/api/v1/auth/login")}  # fmt: skip
    for method, path in ours:
        assert method in spec["paths"][path], path
    upload = spec["paths"]["/api/v1/declarations"]["post"]
    assert {"409", "413", "422"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"423", "429"} <= set(spec["paths"]["/api/v1/auth/login"]["post"]["responses"])
