"""The network misbehaving between the client and the platform (a loopback proxy in front
of the real stub): cut uploads and downloads, stalls, refused connections.

What must hold: an upload is retried or ends in a clear Chinese NetworkError, and the
platform never holds the package twice; a stall ends by the client's own timeouts with
a Chinese message, never a hang; a feedback download cut or stalled leaves the feedback
folder complete or empty — never a half zip, a ``.part`` or a half-extracted folder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from app.client import PlatformClient
from app.documents import file_sha256
from app.errors import NetworkError, PlatformError
from app.models import Declaration
from app.paths import app_paths
from app.session import Session, Workspace
from tests.client.conftest import NEW_PASSWORD
from tests.client.packages import manufacturer_package
from tests.conftest import DEMO
from tests.faults.proxy import FaultProxy, fault_proxy
from tests.livestub import LiveStub

pytestmark = pytest.mark.slow

T = TypeVar("T")
LONG_STALL = 600.0  # far beyond any client timeout here: only the client can end the wait


@dataclass
class Net:
    stub: LiveStub
    proxy: FaultProxy
    session: Session

    @property
    def client(self) -> PlatformClient:
        return self.session.client


@pytest.fixture
def net(live_stub: LiveStub) -> Iterator[Net]:
    """The manufacturer logged in through the proxy (password already changed)."""
    workspace = Workspace(app_paths())
    try:
        with fault_proxy(live_stub.url) as proxy:
            tid, _, initial = DEMO["manufacturer"]
            session = workspace.login(proxy.url, "credit_code", tid, initial, remember=True)
            session.change_password(initial, NEW_PASSWORD)
            session.client.backoff = 0.05
            yield Net(live_stub, proxy, session)
    finally:
        workspace.close()


def short_timeouts(client: PlatformClient, seconds: float = 1.0, retries: int = 0) -> float:
    """Give the client short timeouts; returns the longest an operation may then take
    (every timed wait it can make, plus backoff and a margin for a busy machine)."""
    client.timeout = client.upload_timeout = client.resume_timeout = seconds
    client.retries = retries
    waits = (retries + 1) * 3 * seconds  # upload, the look-up after it, a second try
    return waits + client.resume_timeout + 10.0


def ended_within(budget: float, call: Callable[[], T]) -> T:
    """Run ``call`` on a thread and fail if it is still running after ``budget`` seconds."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the test thread below
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(budget)
    assert not thread.is_alive(), f"still waiting after {budget:.0f} s: the client hung"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def holding(net: Net, sha256: str) -> list[Declaration]:
    """The platform's declarations of this package (asked straight, not through the proxy)."""
    direct = PlatformClient(net.stub.url)
    try:
        direct.token = net.client.token
        items = direct.list_declarations(stage="pre", page_size=500).items
    finally:
        direct.close()
    return [d for d in items if d.sha256.lower() == sha256.lower()]


def feedback_debris(session: Session) -> list[Path]:
    """Files under the feedback folders, temp names included."""
    root = session.paths.feedback_dir(session.taxpayer_id)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def temp_names(paths: list[Path]) -> list[Path]:
    return [p for p in paths if p.name.startswith(".") or p.suffix in (".part", ".partial")]


# -- uploads ---------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["up", "down"])
def test_cut_upload_is_retried_and_never_doubled(net: Net, tmp_path: Path, direction: str) -> None:
    """Cut mid-body (client→server) or while the answer comes back (server→client)."""
    package = manufacturer_package(net.session, tmp_path / "p.zip", lines=20)
    size = package.stat().st_size
    net.proxy.cut(
        "up" if direction == "up" else "down", after=size // 2 if direction == "up" else 40
    )

    decl = net.session.upload(package, "pre")

    assert net.proxy.fired[f"cut-{direction}"] == 1
    assert [d.id for d in holding(net, decl.sha256)] == [decl.id]
    assert net.session.store.find_duplicate(decl.sha256, "pre") is not None


def test_upload_cut_every_time_is_a_clear_error_and_not_stored(net: Net, tmp_path: Path) -> None:
    package = manufacturer_package(net.session, tmp_path / "p.zip", lines=20)
    budget = short_timeouts(net.client)
    net.proxy.cut("up", after=package.stat().st_size // 2, times=None)

    with pytest.raises(NetworkError) as info:
        ended_within(budget, lambda: net.session.upload(package, "pre"))

    assert "连接中断" in info.value.detail and "请检查网络或稍后重试" in info.value.detail
    assert net.proxy.fired["cut-up"] >= 2  # it did try again
    net.proxy.pass_through()
    assert holding(net, file_sha256(package)) == []
    # the line is back: the same package goes up once
    decl = net.session.upload(package, "pre")
    assert [d.id for d in holding(net, decl.sha256)] == [decl.id]


@pytest.mark.parametrize("direction", ["up", "down"])
def test_stalled_upload_times_out_in_chinese(net: Net, tmp_path: Path, direction: str) -> None:
    """Everything stalls (mid-body, or the answer): the client's timeouts end it."""
    package = manufacturer_package(net.session, tmp_path / "p.zip", lines=20)
    budget = short_timeouts(net.client)
    after = package.stat().st_size // 2 if direction == "up" else 0
    net.proxy.stall(direction, LONG_STALL, after=after, times=None)  # type: ignore[arg-type]

    with pytest.raises(NetworkError) as info:
        ended_within(budget, lambda: net.session.upload(package, "pre"))

    assert "长时间没有响应" in info.value.detail and "请稍后重试" in info.value.detail
    assert net.proxy.fired[f"stall-{direction}"] >= 1
    # A stalled answer may hide an upload that arrived: sending again never doubles it.
    net.proxy.pass_through()
    try:
        net.session.upload(package, "pre")
    except PlatformError as exc:
        assert direction == "down" and exc.code == "PACKAGE_DUPLICATE"
    assert len(holding(net, file_sha256(package))) == 1


def test_upload_stalled_once_then_arriving_late_is_still_single(net: Net, tmp_path: Path) -> None:
    """The body stalls past the client's timeout, the client sends again, and then the
    stalled copy reaches the platform too: the platform keeps one."""
    package = manufacturer_package(net.session, tmp_path / "p.zip", lines=20)
    budget = short_timeouts(net.client, retries=1)
    stall = 3.0
    net.proxy.stall("up", stall, after=package.stat().st_size // 2)

    decl = ended_within(budget, lambda: net.session.upload(package, "pre"))
    time.sleep(stall + 1.0)  # let the stalled copy go through (or fail) on the platform

    assert net.proxy.fired["stall-up"] == 1
    assert [d.id for d in holding(net, decl.sha256)] == [decl.id]


def test_refused_connection_is_a_clear_error_then_recovers(net: Net, tmp_path: Path) -> None:
    package = manufacturer_package(net.session, tmp_path / "p.zip", lines=5)
    budget = short_timeouts(net.client)
    net.proxy.refuse()

    with pytest.raises(NetworkError) as info:
        ended_within(budget, lambda: net.session.upload(package, "pre"))
    assert "无法连接到服务器" in info.value.detail

    net.proxy.pass_through()
    decl = net.session.upload(package, "pre")
    assert [d.id for d in holding(net, decl.sha256)] == [decl.id]


# -- feedback downloads ----------------------------------------------------------------


@pytest.fixture
def audited(net: Net, tmp_path: Path) -> tuple[Declaration, int]:
    """An audited pre-declaration with a feedback package, and that package's size."""
    package = manufacturer_package(net.session, tmp_path / "p.zip", unknown_entries=1)
    decl = net.session.wait_for_audit(net.session.upload(package, "pre").id)
    sample = net.client.download_feedback(decl.id, tmp_path / "sample.zip")
    return decl, sample.stat().st_size


def test_feedback_cut_mid_stream_is_fetched_again_whole(
    net: Net, audited: tuple[Declaration, int]
) -> None:
    decl, size = audited
    net.proxy.cut("down", after=size // 2)

    folder = net.session.fetch_feedback(decl.id)

    assert net.proxy.fired["cut-down"] == 1
    files = feedback_debris(net.session)
    assert temp_names(files) == []
    assert (folder / "feedback.json").is_file()
    [entry] = net.session.store.feedback(decl.id)
    assert entry.zip.stat().st_size == size and entry.doubt_count >= 1


def test_a_download_cut_again_and_again_goes_on_from_where_it_stopped(
    net: Net, tmp_path: Path
) -> None:
    """Every connection is cut after a third of the file: starting again from the first
    byte would never finish; asking for the rest (Range, If-Range) does."""
    import os

    import requests

    body = os.urandom(1 << 20)
    published = requests.post(
        net.stub.url + "/admin/v1/downloads",
        headers={"X-Admin-Token": net.stub.admin_token},
        data={"name": "出口退税申报系统", "version": "2.1.0", "kind": "declaration_software"},
        files={"file": ("setup.exe", body)},
        timeout=30,
    )
    assert published.status_code == 201, published.text
    net.proxy.cut("down", after=len(body) // 3, times=None)
    seen: list[int] = []

    folder = tmp_path / "downloads"
    got = net.client.download_file(
        published.json()["id"], folder / "setup.exe", lambda done, _total: seen.append(done)
    )

    assert got.read_bytes() == body
    assert 2 <= net.proxy.fired["cut-down"] <= net.client.retries
    assert seen == sorted(seen) and seen[-1] == len(body)  # progress never went back
    assert [p.name for p in folder.iterdir()] == ["setup.exe"]  # no .part left


@pytest.mark.parametrize("fault", ["cut", "stall"])
def test_feedback_broken_every_time_leaves_nothing(
    net: Net, audited: tuple[Declaration, int], fault: str
) -> None:
    decl, size = audited
    budget = short_timeouts(net.client, retries=1)
    if fault == "cut":
        net.proxy.cut("down", after=size // 2, times=None)
    else:
        net.proxy.stall("down", LONG_STALL, after=size // 2, times=None)

    with pytest.raises(NetworkError) as info:
        ended_within(budget, lambda: net.session.fetch_feedback(decl.id))

    expected = "连接中断" if fault == "cut" else "长时间没有响应"
    assert expected in info.value.detail, info.value.detail
    assert net.proxy.fired[f"{fault}-down"] == 2  # the first try and the one retry
    assert feedback_debris(net.session) == []
    assert net.session.store.feedback(decl.id) == []

    net.proxy.pass_through()
    folder = net.session.fetch_feedback(decl.id)
    assert (folder / "feedback.json").is_file() and temp_names(feedback_debris(net.session)) == []


def test_feedback_stalled_once_times_out_and_the_retry_completes(
    net: Net, audited: tuple[Declaration, int]
) -> None:
    decl, size = audited
    budget = short_timeouts(net.client, retries=1)
    net.proxy.stall("down", LONG_STALL, after=size // 2)

    folder = ended_within(budget, lambda: net.session.fetch_feedback(decl.id))

    assert net.proxy.fired["stall-down"] == 1
    assert (folder / "feedback.json").is_file()
    assert temp_names(feedback_debris(net.session)) == []
