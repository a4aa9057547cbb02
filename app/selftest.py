"""自检 (``--self-test``): the whole chain of the installed client, without a window.

Starts the bundled platform, logs in with a demo enterprise (changing its initial
password), generates a declaration package from the enterprise's e-info, checks and
uploads it, waits for the audit, downloads and decrypts the feedback, converts and
confirms it, has the tax office accept it and downloads the acceptance PDF.

Everything lives in a folder of its own under the cache folder, wiped first: the user's
data and their own demo platform are never touched, and every run starts fresh.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from app.errors import CoreError, LocalError
from app.paths import AppPaths, app_paths

if TYPE_CHECKING:
    from app.session import Session

T = TypeVar("T")

DEMO_TAXPAYER_ID = "91110108MA01HC7K1M"  # 生产企业 of the bundled platform (protocol §10)
PACKAGE_ROWS = 3
MONTHS_BACK = 6
# One audit worker is enough and starts faster; acceptance comes from the admin call below.
PLATFORM_ARGS = (
    "--audit-workers", "1", "--accept-after", "0", "--approve-after", "0",
    "--assemble-delay", "0",
)  # fmt: skip


def self_test_paths(paths: AppPaths) -> AppPaths:
    """The self-test's own folders (under the cache folder of ``paths``)."""
    return app_paths(paths.cache_dir / "self-test")


def run_self_test(paths: AppPaths, log: Callable[[str], object] = print) -> Path:
    """Run the chain; return the acceptance PDF. Raises CoreError naming the failed step."""
    from app.launcher import BundledPlatform, demo_accounts

    own = self_test_paths(paths)
    shutil.rmtree(own.home, ignore_errors=True)
    platform = BundledPlatform(own, PLATFORM_ARGS)
    try:
        url = _step(log, "启动内置演示平台", platform.ensure_running)
        account = next(a for a in demo_accounts() if a.credit_code == DEMO_TAXPAYER_ID)
        return _declare(own, url, account.credit_code, account.initial_password, log)
    finally:
        platform.stop()


def _declare(
    paths: AppPaths, url: str, account: str, initial: str, log: Callable[..., object]
) -> Path:
    from app.credentials import CredentialStore
    from app.session import Workspace

    # remember=False everywhere: the self-test keeps nothing in the user's keyring
    workspace = Workspace(paths, credentials=CredentialStore())
    try:
        session = _step(log, "登录", lambda: workspace.login(url, "credit_code", account, initial))
        if session.must_change_password:
            new = f"Zj{secrets.token_hex(6)}9"
            _step(log, "修改初始密码", lambda: session.change_password(initial, new))
        package = _step(
            log, "生成申报数据包", lambda: _generate(session, paths.cache_dir / "packages")
        )
        report = _step(log, "本地预审", lambda: session.check_package(package))
        if report.refusal is not None or report.result != 0:
            reason = report.refusal.detail if report.refusal else f"审核结果为 {report.result}"
            raise LocalError(f"自检失败（本地预审）：生成的数据包未通过检查，{reason}")
        pre = _step(log, "上传预申报", lambda: session.upload(package, "pre"))
        pre = _step(log, "等待审核", lambda: session.wait_for_audit(pre.id, timeout=120))
        if pre.status != "audited" or pre.result != 0:
            raise LocalError(
                f"自检失败（等待审核）：审核结果为 {pre.status}/{pre.result}，应为无疑点。"
            )
        _step(log, "下载并解密反馈", lambda: session.fetch_feedback(pre.id))
        formal = _step(log, "转正式申报", lambda: session.convert(pre.id))
        formal = _step(log, "确认申报", lambda: session.confirm(formal.id))
        _step(log, "税务机关受理", lambda: _accept(paths, url, formal.id))
        return _step(log, "下载受理通知", lambda: session.acceptance_document(formal.id))
    finally:
        workspace.close()


def _step(log: Callable[[str], object], name: str, action: Callable[[], T]) -> T:
    """One named step: logged, and any failure turned into a CoreError naming it."""
    log(f"自检：{name}……")
    try:
        return action()
    except CoreError as exc:
        raise LocalError(f"自检失败（{name}）：{exc.detail}") from exc
    except Exception as exc:
        raise LocalError(f"自检失败（{name}）：{type(exc).__name__}: {exc}") from exc


def _generate(session: Session, dest: Path) -> Path:
    """A clean 生产企业 package from the e-info of the latest month with a filed VAT return."""
    from app.declaration.generator import generate_package
    from app.session import _month_add

    session.refresh_rates()
    session.refresh_declared_details()
    dest.mkdir(parents=True, exist_ok=True)
    this_month = date.today().strftime("%Y%m")
    for back in range(1, MONTHS_BACK + 1):
        period = _month_add(this_month, -back)
        if not session.client.vat_return(period).filed:
            continue
        ref = session._reference(period, [])
        try:
            return generate_package(
                dest,
                enterprise=ref.enterprise,
                customs=list(ref.customs.values()),
                invoices=list(ref.invoices.values()),
                rates=ref.rates,
                exchange_rates=ref.exchange_rates,
                vat_returns=ref.vat_returns,
                period=period,
                rows=PACKAGE_ROWS,
                today=date.today(),
            )
        except ValueError:
            continue  # not enough undeclared lines up to this month: try an earlier one
    raise LocalError(f"最近{MONTHS_BACK}个月没有足够的可申报电子信息，无法生成数据包。")


def _accept(paths: AppPaths, url: str, declaration_id: str) -> None:
    """受理, as the tax office does it (the platform's admin interface)."""
    import requests

    token = (paths.stub_data_dir / "admin-token").read_text(encoding="utf-8").strip()
    answer = requests.post(
        f"{url}/admin/v1/declarations/{declaration_id}/accept",
        headers={"X-Admin-Token": token},
        timeout=30,
    )
    if not answer.ok:
        raise LocalError(f"平台拒绝受理（HTTP {answer.status_code}）：{answer.text[:200]}")
