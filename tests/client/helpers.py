"""Builders shared by the client tests: feedback zips and fake HTTP answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyzipper
import requests
from requests.adapters import BaseAdapter

TID = "91110108MA01HC7K1M"
KEY = "k" * 40


def feedback_json(taxpayer_id: str = TID, doubts: int = 2) -> bytes:
    return json.dumps(
        {
            "kind": "pre_audit",
            "enterprise": {"taxpayer_id": taxpayer_id, "name": "测试企业"},
            "declaration": {
                "id": "d1",
                "business_code": "A0305001",
                "period": "202610",
                "batch": "001",
            },
            "result": 2,
            "doubts": [
                {
                    "seq": f"{i:04d}",
                    "table": "mdt_ckmx",
                    "code": "BGD_WDZXX",
                    "level": "E",
                    "passable": False,
                    "object": "出口报关单",
                    "field": "ckbgdh",
                    "message": "无电子信息",
                    "hint": "请等待",
                }
                for i in range(1, doubts + 1)
            ],
            "amounts": None,
            "rows": [],
        },
        ensure_ascii=False,
    ).encode()


def make_feedback_zip(
    path: Path,
    entries: dict[str, bytes] | None = None,
    *,
    key: str = KEY,
    enterprise: str = TID,
    kind: str = "pre_audit",
    comment: bytes | None = None,
) -> Path:
    """An encrypted feedback zip as the platform writes it (protocol §6)."""
    if entries is None:
        entries = {
            "feedback.json": feedback_json(enterprise),
            "疑点清单.csv": "申报序号\r\n".encode("gb18030"),
        }
    with pyzipper.AESZipFile(
        path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as zf:
        zf.setpassword(key.encode())
        zf.setencryption(pyzipper.WZ_AES, nbits=256)
        for name, data in entries.items():
            zf.writestr(name, data)
        zf.comment = (
            comment
            if comment is not None
            else json.dumps(
                {
                    "key_id": "k1",
                    "kind": kind,
                    "enterprise": enterprise,
                    "created_at": "2026-11-05T10:20:30+08:00",
                }
            ).encode()
        )
    return path


Handler = Callable[[requests.PreparedRequest], tuple[int, dict[str, str], bytes] | Exception]


class FakeAdapter(BaseAdapter):
    """A transport that answers from a function (or raises what it returns)."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.calls: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.calls.append(request)
        answer = self.handler(request)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        resp = requests.Response()
        resp.status_code = status
        resp.headers.update(headers)
        resp._content = body
        resp._content_consumed = True  # streamed reads come from the body above
        resp.url = request.url or ""
        resp.request = request
        return resp

    def close(self) -> None:
        pass


def fake_session(handler: Handler) -> tuple[requests.Session, FakeAdapter]:
    session = requests.Session()
    adapter = FakeAdapter(handler)
    session.mount("http://", adapter)
    return session, adapter


def problem(status: int, code: str, detail: str, **extra: Any) -> tuple[int, dict[str, str], bytes]:
    body = {
        "type": f"urn:tuishui:problem:{code}",
        "title": code,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return status, {"Content-Type": "application/problem+json"}, json.dumps(body).encode()
