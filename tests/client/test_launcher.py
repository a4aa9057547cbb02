"""The bundled platform: started on a free port, reused while it runs, stopped on request."""

from __future__ import annotations

import pytest
import requests

from app.launcher import BundledPlatform, demo_accounts
from app.paths import app_paths
from tests.conftest import DEMO

pytestmark = pytest.mark.slow


def test_start_reuse_stop() -> None:
    paths = app_paths()
    first = BundledPlatform(paths, ("--accept-after", "0", "--approve-after", "0"))
    url = first.ensure_running()
    try:
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/api/v1/health", timeout=5).json()["status"] == "ok"
        assert (paths.stub_data_dir / "server.json").is_file()
        second = BundledPlatform(paths)
        assert second.ensure_running() == url  # found through server.json + /health
        second.stop()  # not its child: leaves it running
        assert requests.get(url + "/api/v1/health", timeout=5).ok
    finally:
        first.stop()
    with pytest.raises(requests.RequestException):
        requests.get(url + "/api/v1/health", timeout=2)


def test_demo_accounts_match_the_seed() -> None:
    assert {(a.credit_code, a.customs_code, a.initial_password) for a in demo_accounts()} == set(
        DEMO.values()
    )
