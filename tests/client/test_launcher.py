"""The bundled platform: started on a free port, reused while it runs, stopped on request."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app.launcher import BundledPlatform, demo_accounts
from app.paths import app_paths
from tests.conftest import DEMO

pytestmark = pytest.mark.slow
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


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


@linux_only
def test_the_platform_goes_when_the_app_is_killed(tmp_path: Path) -> None:
    """An app killed outright (task manager, crash) takes its platform and the platform's
    audit workers with it: nothing runs on unseen, holding the data folder."""
    code = (
        "from app.launcher import BundledPlatform\n"
        "from app.paths import app_paths\n"
        "p = BundledPlatform(app_paths())\n"
        "print(p.ensure_running(), p._process.pid, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    app = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                           cwd=Path(__file__).parents[2])  # fmt: skip
    try:
        assert app.stdout is not None
        url, pid = app.stdout.readline().split()
        assert requests.get(url + "/api/v1/health", timeout=5).ok
        workers = _children(int(pid))
        assert workers, "the platform runs its audit workers as processes"
    finally:
        app.kill()
        app.wait()
        app.stdout.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(int(pid)):
        time.sleep(0.2)
    assert not _alive(int(pid)), "the platform outlived the app"
    with pytest.raises(requests.RequestException):
        requests.get(url + "/api/v1/health", timeout=2)
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers)
    assert "shutting down" in (app_paths().stub_data_dir / "logs" / "server.log").read_text(
        encoding="utf-8"
    )


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
