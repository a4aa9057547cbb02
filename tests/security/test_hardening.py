"""What an attacker holding the data dir or the network would look for: passwords and
tokens at rest, and a platform listening beyond this machine."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from server_stub.auth import verify_password
from server_stub.db import db_path
from tests.livestub import LISTEN_RE
from tests.stub.conftest import start_stub
from tests.stub.helpers import NEW_PASSWORD, Api


def _files_of(data_dir: Path) -> bytes:
    """Every byte the platform keeps: the database, its WAL and whatever lies beside it."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def test_passwords_and_tokens_are_kept_only_as_hashes(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub")
    try:
        api = Api(stub)  # logs in and changes the initial password to NEW_PASSWORD
        token = api.session.headers["Authorization"].removeprefix("Bearer ")
        assert api.get("/enterprise").status_code == 200
        with sqlite3.connect(db_path(stub.data_dir)) as conn:
            (stored,) = conn.execute(
                "SELECT password_hash FROM enterprises WHERE taxpayer_id = ?", (api.taxpayer_id,)
            ).fetchone()
        algorithm, n, *_ = stored.split("$")
        assert algorithm == "scrypt" and int(n) >= 2**14
        assert verify_password(NEW_PASSWORD, stored) and not verify_password(
            "x" + NEW_PASSWORD, stored
        )
        kept = _files_of(stub.data_dir)
        assert NEW_PASSWORD.encode() not in kept
        assert str(token).encode() not in kept
    finally:
        stub.kill()


def _outward_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: only picks the route
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_the_platform_listens_on_loopback_unless_told_otherwise(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", "0", "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if m := LISTEN_RE.search(line):
                url = m.group(1)
                break
        assert url.startswith("http://127.0.0.1:"), url
        assert requests.get(url + "/openapi.json", timeout=10).status_code == 200
        outward = _outward_address()
        if outward is None:
            pytest.skip("this machine has no address beyond loopback to try")
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError), socket.create_connection((outward, port), timeout=5):
            pass
    finally:
        proc.kill()
        proc.wait(15)
        if proc.stdout:
            proc.stdout.close()
