"""审核排位 and restarts: FIFO across enterprises, ranks only fall, delete while queued,
and a ``kill -9`` that loses nothing."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.stub.conftest import start_stub
from tests.stub.helpers import Api, months_back, package, problem


def test_ranks_only_fall_and_delete_while_queued(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub", "--audit-workers", "1", "--audit-delay", "0.6")
    try:
        mfr, trader = Api(stub), Api(stub, "trader")
        ids: list[tuple[Api, str]] = []
        for i in range(4):
            api, who = (mfr, "manufacturer") if i % 2 == 0 else (trader, "trader")
            pkg = package(stub, tmp_path / f"p{i}.zip", who=who, period=months_back(1 + i // 2),
                          rows=3)  # fmt: skip
            r = api.upload(pkg)
            assert r.status_code == 202, r.text
            ids.append((api, r.json()["id"]))
        ranks = [api.declaration(i)["queue_position"] for api, i in ids]
        # one queue for every enterprise, first come first served
        queued = [r for r in ranks if r is not None]
        assert queued == sorted(queued) and len(set(queued)) == len(queued)
        last_api, last = ids[-1]
        d = last_api.declaration(last)
        assert d["status"] == "queued" and d["queue_eta_seconds"] is not None
        assert last_api.delete(f"/declarations/{last}").status_code == 204
        problem(last_api.get(f"/declarations/{last}"), 404, "NOT_FOUND")

        seen: dict[str, int] = {}

        def never_rises(d: dict[str, object]) -> None:
            rank = d["queue_position"]
            if isinstance(rank, int):
                assert rank <= seen.get(str(d["id"]), rank), (d["id"], rank, seen)
                seen[str(d["id"])] = rank

        for api, i in ids[:-1]:
            api.wait_for(i, seen=never_rises)
        problem(mfr.delete(f"/declarations/{ids[0][1]}"), 409, "INVALID_STATE")
    finally:
        stub.kill()


def test_kill_9_loses_nothing_and_resumes(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub", "--audit-workers", "1", "--audit-delay", "1.5")
    try:
        api = Api(stub)
        ids = []
        for i in range(3):
            r = api.upload(package(stub, tmp_path / f"k{i}.zip", period=months_back(1 + i),
                                   rows=3))  # fmt: skip
            assert r.status_code == 202
            ids.append(r.json()["id"])
        api.wait_for(ids[0], done=("auditing",))
        stub.restart_after_kill()
        # sessions survive the restart; the interrupted audit resumes first, unranked
        first = api.declaration(ids[0])
        assert first["status"] in ("auditing", "audited"), first
        assert first["queue_position"] is None
        assert api.declaration(ids[2])["status"] == "queued"
        for i in ids:
            assert api.wait_for(i)["status"] == "audited"
        listed = api.get("/declarations", params={"stage": "pre"}).json()
        assert sorted(d["id"] for d in listed["items"]) == sorted(ids)
        assert all(api.get(f"/declarations/{i}/doubts").status_code == 200 for i in ids)
    finally:
        stub.kill()


def test_isolation_between_enterprises(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub")
    try:
        a, b = Api(stub), Api(stub, "trader")
        r = a.upload(package(stub, tmp_path / "a.zip", rows=3))
        did = a.wait_for(r.json()["id"])["id"]
        for path in ("", "/doubts", "/feedback", "/attachments", "/acceptance.pdf",
                     "/attachments/x"):  # fmt: skip
            problem(b.get(f"/declarations/{did}{path}"), 404, "NOT_FOUND")
        problem(b.post(f"/declarations/{did}/convert"), 404, "NOT_FOUND")
        problem(b.post(f"/declarations/{did}/confirm"), 404, "NOT_FOUND")
        problem(b.delete(f"/declarations/{did}"), 404, "NOT_FOUND")
        theirs = b.get("/declarations", params={"page_size": "500"}).json()["items"]
        assert did not in {d["id"] for d in theirs}
        mine = a.get("/declarations", params={"page_size": "500"}).json()["items"]
        assert not {d["id"] for d in mine} & {d["id"] for d in theirs}
        problem(requests.get(stub.api + f"/declarations/{did}", timeout=30), 401, "TOKEN_INVALID")
    finally:
        stub.kill()


def test_without_workers_uploads_wait_and_the_sync_feed_names_each_change(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub", "--audit-workers", "0")
    try:
        api = Api(stub)
        cursor = 0
        while True:
            feed = api.get("/sync", params={"cursor": str(cursor)}).json()
            cursor = feed["cursor"]
            if not feed["more"]:
                break
        ids = [api.upload(package(stub, tmp_path / f"w{i}.zip", period=months_back(1 + i),
                                  rows=2)).json()["id"] for i in range(2)]  # fmt: skip
        assert [api.declaration(i)["queue_position"] for i in ids] == [1, 2]
        assert api.delete(f"/declarations/{ids[0]}").status_code == 204
        assert api.declaration(ids[1])["queue_position"] == 1
        changes = api.get("/sync", params={"cursor": str(cursor)}).json()["changes"]
        mine = [(c["id"], c["op"]) for c in changes if c["kind"] == "declaration"]
        assert mine == [(ids[0], "upsert"), (ids[1], "upsert"), (ids[0], "deleted")]
    finally:
        stub.kill()
