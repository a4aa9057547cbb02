"""The app's root object (:class:`Workspace`) and one logged-in enterprise (:class:`Session`).

A workspace holds several sessions side by side (tax agents serve many enterprises) and
switches between them without a restart; each session has its own platform client, local
store and folders. Every method blocks: the UI runs them on its background helper.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from app.client import PlatformClient, Progress, iter_all
from app.credentials import CredentialStore, KeyringUnavailable
from app.errors import LocalError, NetworkError, PlatformError
from app.models import (
    QUEUED_STATUSES,
    RELEASED_STATUSES,
    CustomsEInfo,
    Declaration,
    Doubt,
    EnterpriseBrief,
    EnterpriseInfo,
    FeedbackJob,
    FeedbackKey,
    InvoiceEInfo,
    from_wire,
    to_wire,
)
from app.paths import AppPaths
from app.settings import Settings
from app.store import FeedbackEntry, LocalStore

log = logging.getLogger(__name__)

EINFO_MONTHS = 36  # the e-info window the platform keeps (protocol §4)
EINFO_FRESH = timedelta(minutes=10)  # *_so_far fields move as declarations are made
POLL_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Account:
    """An enterprise account this computer has logged in with (no secret here)."""

    server: str
    account_type: str
    account: str
    taxpayer_id: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.account_type}:{self.account}"


@dataclass(slots=True)
class CheckReport:
    """本地预审: what the local check of a package found, before any upload."""

    path: Path
    sha256: str
    business_code: str = ""
    period: str = ""
    batch: str = ""
    record_count: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # PACKAGE_INVALID rows
    refusal: LocalError | None = None  # would be refused at upload (invalid, owner, …)
    duplicate_of: Declaration | None = None
    result: int | None = None  # 0 无疑点, 1 仅可挑过, 2 有不可挑过; None when not audited
    reject_code: str | None = None
    reject_text: str | None = None
    doubts: list[Doubt] = field(default_factory=list)
    amounts: dict[str, Decimal] | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. 电子信息来自缓存


class Workspace:
    """Every enterprise logged in on this computer, plus the remembered accounts."""

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings | None = None,
        credentials: CredentialStore | None = None,
    ) -> None:
        self.paths = paths
        self.settings = settings or Settings.load(paths)
        self.credentials = credentials or CredentialStore()
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None

    def accounts(self) -> list[Account]:
        """Enterprises logged in before, most recent first (for the login window)."""
        result = []
        for raw in self.settings.accounts:
            try:
                result.append(Account(**raw))
            except TypeError:
                continue
        return result

    def remembered_password(self, account: Account) -> str | None:
        return self.credentials.password(account.server, account.key)

    def forget(self, account: Account) -> None:
        """Forget an account: its remembered password and feedback key go too."""
        self.credentials.forget(account.server, account.key)
        self.credentials.forget_feedback_key(account.server, account.taxpayer_id)
        self.settings.accounts = [a for a in self.settings.accounts if Account(**a) != account]
        self.settings.save()

    def login(
        self,
        server_url: str,
        account_type: str,
        account: str,
        password: str,
        remember: bool = False,
    ) -> Session:
        """登录. Raises PlatformError (AUTH_FAILED, AUTH_LOCKED, AUTH_NOT_FILED, VALIDATION …)
        or NetworkError. ``remember`` keeps the password in the keyring; without a keyring
        the login still succeeds and ``session.warnings`` says the password was not kept."""
        client = PlatformClient(server_url, timeout=self.settings.request_timeout)
        try:
            result = client.login(account_type, account, password)
        except BaseException:
            client.close()
            raise
        brief = result.enterprise
        acct = Account(
            client.server, account_type, account.strip().upper(), brief.taxpayer_id, brief.name
        )
        previous = self.sessions.pop(brief.taxpayer_id, None)
        if previous is not None:
            previous.close()
        session = Session(self, client, acct, brief, result.must_change_password, remember)
        if remember:
            try:
                self.credentials.remember_password(acct.server, acct.key, password)
            except KeyringUnavailable as exc:
                session.remember = False
                session.warnings.append(exc.detail)
        else:
            self.credentials.forget(acct.server, acct.key)
        self._record(acct)
        self.sessions[brief.taxpayer_id] = session
        self.current = session
        if not session.must_change_password:
            session.load_enterprise()
        return session

    def resume(self, account: Account, token: str | None = None) -> Session:
        """Continue as ``account`` without asking for the password: with ``token`` (still
        valid on the platform) and/or the password remembered in the keyring."""
        password = self.credentials.password(account.server, account.key)
        if token is None and password is None:
            raise LocalError("尚未登录或登录已失效，请先登录。")
        client = PlatformClient(account.server, timeout=self.settings.request_timeout)
        client.token = token
        if password is not None:
            client.renew_with(account.account_type, account.account, password)
        store = LocalStore(self.paths.store_path(account.taxpayer_id))
        info = store.enterprise()
        brief = EnterpriseBrief(
            account.taxpayer_id,
            info.name if info else account.name,
            info.kind if info else "",
            info.management_class if info else "",
        )
        session = Session(self, client, account, brief, False, password is not None, store=store)
        session.ensure_online()
        self.sessions[account.taxpayer_id] = session
        self.current = session
        return session

    def open_offline(self, taxpayer_id: str) -> Session:
        """Open an enterprise from its local store only (read-only while offline)."""
        account = next((a for a in self.accounts() if a.taxpayer_id == taxpayer_id), None)
        store_path = self.paths.store_path(taxpayer_id)
        if account is None or not store_path.exists():
            raise LocalError("本机没有该企业的数据，无法离线查看。请连接平台后登录。")
        client = PlatformClient(account.server, timeout=self.settings.request_timeout)
        store = LocalStore(store_path)
        info = store.enterprise()
        brief = EnterpriseBrief(
            taxpayer_id,
            info.name if info else account.name,
            info.kind if info else "",
            info.management_class if info else "",
        )
        session = Session(self, client, account, brief, False, False, store=store, offline=True)
        self.sessions[taxpayer_id] = session
        self.current = session
        return session

    def switch(self, taxpayer_id: str) -> Session:
        try:
            self.current = self.sessions[taxpayer_id]
        except KeyError:
            raise LocalError("该企业尚未登录，请先登录。") from None
        return self.current

    def logout(self, taxpayer_id: str) -> None:
        """退出: ends the platform session (best effort) and closes the local store."""
        session = self.sessions.pop(taxpayer_id, None)
        if session is None:
            return
        try:
            if not session.offline:
                session.client.logout()
        except (NetworkError, PlatformError) as exc:
            log.info("logout not confirmed by the platform: %s", exc.detail)
        finally:
            session.close()
            if self.current is session:
                self.current = next(iter(self.sessions.values()), None)

    def close(self) -> None:
        for session in list(self.sessions.values()):
            session.close()
        self.sessions.clear()
        self.current = None

    def _record(self, account: Account) -> None:
        entry = to_wire(account)
        self.settings.accounts = [entry] + [
            a
            for a in self.settings.accounts
            if (a.get("server"), a.get("taxpayer_id"), a.get("account"))
            != (account.server, account.taxpayer_id, account.account)
        ]
        self.settings.last_account_type = account.account_type
        self.settings.last_account = account.account
        self.settings.save()


class Session:
    """One enterprise, logged in (or opened offline from its local store)."""

    def __init__(
        self,
        workspace: Workspace,
        client: PlatformClient,
        account: Account,
        brief: EnterpriseBrief,
        must_change_password: bool,
        remember: bool,
        *,
        store: LocalStore | None = None,
        offline: bool = False,
    ) -> None:
        self.workspace = workspace
        self.paths = workspace.paths
        self.credentials = workspace.credentials
        self.client = client
        self.account = account
        self.brief = brief
        self.taxpayer_id = brief.taxpayer_id
        self.must_change_password = must_change_password
        self.remember = remember
        self.offline = offline
        self.store = store or LocalStore(self.paths.store_path(self.taxpayer_id))
        self.enterprise: EnterpriseInfo | None = self.store.enterprise()
        self.warnings: list[str] = []
        self._feedback_key: FeedbackKey | None = None
        self._feedback_key_fresh = False  # the key in memory came from the platform just now

    def close(self) -> None:
        self.client.close()
        self.store.close()

    # -- login state ------------------------------------------------------------------------

    def ensure_online(self) -> None:
        """Log in again from the remembered password when this session has no token (opened
        offline, or the platform forgot it). Raises LocalError when nothing is remembered."""
        if self.client.token:
            return
        password = self.credentials.password(self.account.server, self.account.key)
        if password is None:
            raise LocalError("登录已失效，请重新登录。")
        result = self.client.login(self.account.account_type, self.account.account, password)
        self.must_change_password = result.must_change_password
        self.offline = False

    def change_password(self, old_password: str, new_password: str) -> None:
        """修改密码 (required after the first login and after a reset by the tax office)."""
        self.client.change_password(old_password, new_password)
        self.must_change_password = False
        if self.remember:
            try:
                self.credentials.remember_password(
                    self.account.server, self.account.key, new_password
                )
            except KeyringUnavailable as exc:
                self.warnings.append(exc.detail)
        self.load_enterprise()

    def load_enterprise(self) -> EnterpriseInfo:
        self.enterprise = self.client.enterprise()
        self.store.set_enterprise(self.enterprise)
        return self.enterprise

    # -- keeping the local store current ----------------------------------------------------

    def refresh_all(self) -> None:
        """Reload everything the local store mirrors (after login, or a sync reset)."""
        cursor = self.store.sync_cursor()
        while True:  # take the feed's position first: later changes reach us through sync
            page = self.client.sync(cursor, 0)
            cursor = page.cursor
            if not page.more:
                break
        self.load_enterprise()
        self.store.replace_declarations(
            iter_all(partial(self.client.list_declarations, page_size=500))
        )
        self.store.upsert_notices(iter_all(partial(self.client.notices, page_size=500)))
        this_year = date.today().year
        for year in (this_year - 1, this_year):
            self.store.replace_progress(str(year), self.client.progress(year).items)
        self.store.upsert_documents(iter_all(partial(self.client.documents, page_size=500)))
        self.store.upsert_feedback_jobs(iter_all(partial(self.client.feedback_jobs, page_size=500)))
        self.refresh_rates()
        self.refresh_declared_details()
        self.store.set_sync_cursor(cursor)

    def refresh(self, kind: str, object_id: str, op: str = "upsert") -> None:
        """Bring the local store up to date with one change of the sync feed (§8)."""
        if kind == "declaration":
            if op == "deleted":
                self.store.delete_declaration(object_id)
                return
            try:
                decl = self.client.declaration(object_id)
            except PlatformError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                self.store.delete_declaration(object_id)
                return
            self.store.upsert_declarations([decl])
            if decl.doubt_counts and decl.doubt_counts.total:
                self.doubts(decl.id)
            if decl.stage == "formal":
                self.refresh_declared_details(decl.period)
        elif kind == "notice":
            self.store.upsert_notices(self.client.notices(page_size=100).items)
        elif kind == "progress":
            year = date.today().year
            for y in (year - 1, year):
                self.store.replace_progress(str(y), self.client.progress(y).items)
        elif kind == "feedback_job":
            self.store.upsert_feedback_jobs([self.client.feedback_job(object_id)])
        elif kind == "document":
            self.store.upsert_documents(self.client.documents(page_size=100).items)
        elif kind == "enterprise":
            self.load_enterprise()

    def refresh_rates(self) -> bool:
        """Fetch the rate library when the platform's is newer (ETag); True if it changed."""
        etag, rows = self.client.rates_export(self.store.rates_etag())
        if rows is None:
            return False
        version = self.client.rates_meta().version
        self.store.replace_rates(rows, etag, version)
        return True

    def refresh_declared_details(self, period: str | None = None) -> int:
        """申报明细数据: all of them, or those of one 所属期 (after a change there)."""
        fetch = partial(
            self.client.declared_details, period_from=period, period_to=period, page_size=500
        )
        return self.store.replace_declared_details(iter_all(fetch), period)

    def doubts(self, declaration_id: str) -> list[Doubt]:
        """A declaration's doubts: from the platform when reachable, else the local copy."""
        try:
            found = list(iter_all(partial(self.client.doubts, declaration_id, page_size=500)))
        except NetworkError:
            return self.store.doubts(declaration_id)
        self.store.replace_doubts(declaration_id, found)
        return found

    # -- declarations -----------------------------------------------------------------------

    def check_package(self, path: Path, stage: str = "pre") -> CheckReport:
        """本地预审: read the package and audit it against the cached e-info and rate library,
        so the doubts show in seconds instead of after the queue. Uploads nothing."""
        from app.declaration.audit import audit_package
        from app.declaration.package import PackageError, open_package
        from app.documents import file_sha256

        report = CheckReport(path, file_sha256(path))
        report.duplicate_of = self.store.find_duplicate(report.sha256, stage)
        try:
            pkg = open_package(path)
        except PackageError as exc:
            report.problems = [p.to_dict() for p in exc.problems]
            report.refusal = LocalError(exc.detail, code=exc.code, problems=report.problems)
            return report
        manifest = pkg.manifest
        report.business_code, report.period, report.batch = (
            manifest.sbywbm,
            manifest.ssq,
            manifest.sbpc,
        )
        report.record_count = pkg.record_count
        report.refusal = self._owner_refusal(manifest)
        if report.refusal is not None:
            return report
        if self.store.rates_version() is None and not self.offline:
            try:
                self.refresh_rates()
            except NetworkError:
                report.warnings.append("无法连接平台获取出口退税率文库，退税率相关检查可能不准确。")
        reference = self._reference(manifest.ssq, report.warnings)
        audit = audit_package(pkg, reference, stage=stage)
        report.result = audit.result
        report.reject_code, report.reject_text = audit.reject_code, audit.reject_text
        report.doubts = [from_wire(Doubt, d.to_dict()) for d in audit.doubts]
        report.amounts = {k: Decimal(v) for k, v in (audit.amounts or {}).items() if v is not None}
        return report

    def upload(
        self, path: Path, stage: str = "pre", progress: Progress | None = None
    ) -> Declaration:
        """上传 a package — checked first (readable, this enterprise's, not a duplicate)."""
        from app.declaration.package import PackageError, open_package
        from app.documents import file_sha256

        sha256 = file_sha256(path)
        existing = self.store.find_duplicate(sha256, stage)
        if existing is not None:
            raise LocalError(
                _duplicate_detail(existing), code="PACKAGE_DUPLICATE", existing_id=existing.id
            )
        try:
            manifest = open_package(path).manifest
        except PackageError as exc:
            problems = [p.to_dict() for p in exc.problems]
            raise LocalError(exc.detail, code=exc.code, problems=problems) from exc
        refusal = self._owner_refusal(manifest)
        if refusal is not None:
            raise refusal
        try:
            decl = self.client.upload_declaration(path, stage, progress, sha256=sha256)
        except PlatformError as exc:
            if exc.code == "PACKAGE_DUPLICATE" and exc.existing_id:
                other = self.client.declaration(exc.existing_id)
                self.store.upsert_declarations([other])
                raise PlatformError(
                    exc.status, exc.code, _duplicate_detail(other), exc.body
                ) from exc
            raise
        self.store.upsert_declarations([decl])
        return decl

    def declaration(self, declaration_id: str) -> Declaration:
        decl = self.client.declaration(declaration_id)
        self.store.upsert_declarations([decl])
        return decl

    def wait_for_audit(
        self,
        declaration_id: str,
        timeout: float = 600.0,
        on_update: Callable[[Declaration], None] | None = None,
    ) -> Declaration:
        """Poll until the declaration leaves the queue (排队中/审核中)."""
        deadline = time.monotonic() + timeout
        while True:
            decl = self.declaration(declaration_id)
            if on_update:
                on_update(decl)
            if decl.status not in QUEUED_STATUSES:
                return decl
            if time.monotonic() > deadline:
                raise LocalError("审核仍在排队中，请稍后查看结果。")
            time.sleep(POLL_SECONDS)

    def convert(self, declaration_id: str) -> Declaration:
        """转正式申报."""
        formal = self.client.convert(declaration_id)
        self.store.upsert_declarations([formal, self.client.declaration(declaration_id)])
        return formal

    def confirm(self, declaration_id: str) -> Declaration:
        """确认申报."""
        decl = self.client.confirm(declaration_id)
        self.store.upsert_declarations([decl])
        return decl

    def withdraw(self, declaration_id: str) -> Declaration:
        """撤回 a formal declaration (its pre-declaration becomes convertible again)."""
        decl = self.client.withdraw(declaration_id)
        changed = [decl]
        if decl.source_id:
            changed.append(self.client.declaration(decl.source_id))
        self.store.upsert_declarations(changed)
        return decl

    def delete(self, declaration_id: str) -> None:
        """删除 a queued declaration (takes it out of the queue)."""
        self.client.delete_declaration(declaration_id)
        self.store.delete_declaration(declaration_id)

    def upload_attachment(self, declaration_id: str, path: Path, category: str) -> Any:
        return self.client.upload_attachment(declaration_id, path, category)

    # -- feedback ---------------------------------------------------------------------------

    def fetch_feedback(self, declaration_id: str, progress: Progress | None = None) -> Path:
        """预审核反馈: download, decrypt and file it; returns the folder. Idempotent."""
        decl = self.store.declaration(declaration_id) or self.declaration(declaration_id)
        return self._fetch_feedback(
            declaration_id,
            decl.period,
            lambda dest: self.client.download_feedback(declaration_id, dest, progress),
        )

    def request_job(self, category: str, type: str, period: str) -> FeedbackJob:
        """反馈下载: ask the platform to assemble a feedback package."""
        job = self.client.create_feedback_job(category, type, period)
        self.store.upsert_feedback_jobs([job])
        return job

    def wait_for_job(self, job_id: str, timeout: float = 900.0) -> FeedbackJob:
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.feedback_job(job_id)
            self.store.upsert_feedback_jobs([job])
            if job.status != "assembling":
                return job
            if time.monotonic() > deadline:
                raise LocalError("反馈文件仍在生成中，请稍后再下载。")
            time.sleep(POLL_SECONDS)

    def fetch_job(self, job_id: str, progress: Progress | None = None) -> Path:
        """Download, decrypt and file a ready feedback job; returns the folder. Idempotent."""
        job = self.client.feedback_job(job_id)
        self.store.upsert_feedback_jobs([job])
        return self._fetch_feedback(
            job_id,
            job.period,
            lambda dest: self.client.download_feedback_job(job_id, dest, progress),
        )

    def _fetch_feedback(
        self, source_id: str, period: str, download: Callable[[Path], Path]
    ) -> Path:
        from app.feedback import FeedbackIndex, extract_feedback, read_comment

        for entry in self.store.feedback(source_id):
            if entry.folder.is_dir():
                return entry.folder
        base = self.paths.feedback_dir(self.taxpayer_id) / _safe_name(period)
        base.mkdir(parents=True, exist_ok=True)
        temp_zip = base / f".{_safe_name(source_id)}-{os.urandom(4).hex()}.zip"
        try:
            download(temp_zip)
            comment = read_comment(temp_zip, self.taxpayer_id)
            name = f"{_safe_name(comment.kind)}-{_safe_name(source_id)}"
            folder = base / name
            if not folder.is_dir():
                self._extract_with_key(temp_zip, folder, comment.key_id, extract_feedback)
            os.replace(temp_zip, base / f"{name}.zip")
        finally:
            temp_zip.unlink(missing_ok=True)
        summary = FeedbackIndex.read(folder)
        self.store.record_feedback(
            FeedbackEntry(
                source_id,
                comment.kind,
                period,
                folder,
                base / f"{name}.zip",
                summary.result,
                summary.doubt_count,
                summary.row_count,
                datetime.now().astimezone(),
            )
        )
        return folder

    def _extract_with_key(
        self, zip_path: Path, folder: Path, key_id: str, extract: Callable[..., Path]
    ) -> None:
        key = self.feedback_key(key_id)
        try:
            extract(zip_path, key.key, folder, self.taxpayer_id)
        except LocalError as exc:
            if exc.code != "BAD_KEY" or self._feedback_key_fresh:
                raise
            # A remembered key may be stale (the platform re-keyed): ask the platform once.
            extract(zip_path, self.feedback_key(key_id, refetch=True).key, folder, self.taxpayer_id)

    def feedback_key(self, key_id: str | None = None, *, refetch: bool = False) -> FeedbackKey:
        """The enterprise's feedback key: memory, then keyring, then the platform."""
        self._feedback_key_fresh = False
        key = None if refetch else self._feedback_key
        if key is None and not refetch and self.remember:
            key = self.credentials.feedback_key(self.account.server, self.taxpayer_id)
        if key is None or (key_id is not None and key.key_id != key_id):
            try:
                key = self.client.feedback_key()
            except NetworkError as exc:
                raise NetworkError(
                    "无法从平台获取反馈密钥，暂时不能解密反馈文件。" + exc.detail
                ) from exc
            self._feedback_key_fresh = True
            if self.remember:
                try:
                    self.credentials.remember_feedback_key(
                        self.account.server, self.taxpayer_id, key
                    )
                except KeyringUnavailable as exc:
                    self.warnings.append(exc.detail)
        self._feedback_key = key
        return key

    # -- documents --------------------------------------------------------------------------

    def issue_document(self, type: str, period: str | None = None) -> Path:
        """文书开具: issue, download and verify the PDF; returns its path."""
        doc = self.client.create_document(type, period)
        self.store.upsert_documents([doc])
        when = period or doc.created_at.strftime("%Y%m%d")
        name = f"{_safe_name(doc.name)}-{when}-{_safe_name(doc.id)}.pdf"
        dest = self.paths.documents_dir(self.taxpayer_id) / name
        self._save_pdf(lambda tmp: self.client.document_pdf(doc.id, tmp), dest, doc.sha256)
        self.store.set_document_path(doc.id, dest)
        return dest

    def acceptance_document(self, declaration_id: str) -> Path:
        """受理文书 of an accepted declaration: download, verify, file; returns its path."""
        decl = self.store.declaration(declaration_id) or self.declaration(declaration_id)
        name = f"受理通知-{decl.business_code}-{decl.period}-{decl.batch}-{_safe_name(decl.id)}.pdf"
        dest = self.paths.documents_dir(self.taxpayer_id) / "受理通知" / name
        self._save_pdf(lambda tmp: self.client.acceptance_pdf(declaration_id, tmp), dest, None)
        return dest

    def _save_pdf(self, download: Callable[[Path], Path], dest: Path, sha256: str | None) -> None:
        from app.documents import verify_pdf

        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = dest.with_name(f".{dest.name}.{os.urandom(4).hex()}")
        try:
            download(temp)
            verify_pdf(temp, self.taxpayer_id, sha256)
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)

    # -- the rest of the 办税桌面 --------------------------------------------------------------

    def update_contact(self, contact_name: str, contact_phone: str) -> EnterpriseInfo:
        self.enterprise = self.client.update_contact(contact_name, contact_phone)
        self.store.set_enterprise(self.enterprise)
        return self.enterprise

    def mark_read(self, notice_id: str) -> None:
        self.client.mark_notice_read(notice_id)
        self.store.mark_notice_read(notice_id)

    # -- local check helpers ----------------------------------------------------------------

    def _owner_refusal(self, manifest: Any) -> LocalError | None:
        """The platform's own rule and words (PACKAGE_OWNER_MISMATCH), shared with it."""
        from app.declaration.package import owner_problem

        customs_code = self.enterprise.customs_code if self.enterprise else None
        mismatch = owner_problem(manifest, self.taxpayer_id, customs_code)
        return None if mismatch is None else LocalError(mismatch, code="PACKAGE_OWNER_MISMATCH")

    def _reference(self, period: str, warnings: list[str]) -> Any:
        """ReferenceData for a package of 所属期 ``period`` from the cache (refreshed when
        reachable and stale)."""
        from app.declaration.reference import (
            CustomsLine,
            Enterprise,
            Invoice,
            RateLibrary,
            ReferenceData,
        )

        info = self.enterprise
        kind = info.kind if info else self.brief.kind
        customs = [
            CustomsLine(**{k: getattr(c, k) for k in _CUSTOMS_FIELDS})
            for c in self._einfo_lines("customs", period, warnings)
            if isinstance(c, CustomsEInfo)
        ]
        invoices = (
            [
                Invoice(**{k: getattr(i, k) for k in _INVOICE_FIELDS})
                for i in self._einfo_lines("invoices", period, warnings)
                if isinstance(i, InvoiceEInfo)
            ]
            if kind == "trader"
            else []
        )
        vat_returns: dict[str, Decimal] = {}
        if kind == "manufacturer":
            vat = self._cached("vat", period, lambda: to_wire(self.client.vat_return(period)))
            if vat and vat.get("filed"):
                vat_returns[period] = Decimal(vat.get("closing_credit") or "0")
        months = sorted({c.export_date.strftime("%Y%m") for c in customs})
        exchange_rates: dict[str, Decimal] = {}
        for month in months:
            rate = self._cached("fx", month, partial(_rate_or_none, self.client, month))
            if rate:
                exchange_rates[month] = Decimal(rate["usd_cny"])
        declared_lines = self.store.declared_lines()
        software = self._cached("software", "current", partial(_software_version, self.client))
        credit_used = sum(
            (
                Decimal(d.amounts.get("refund") or 0)
                for d in self.store.declarations(stage="formal")
                if d.period == period
                and d.status not in RELEASED_STATUSES | {"refused"}
                and d.amounts
            ),
            Decimal(0),
        )
        enterprise = Enterprise(
            taxpayer_id=self.taxpayer_id,
            customs_code=info.customs_code if info else "",
            name=info.name if info else self.brief.name,
            kind="trader" if kind == "trader" else "manufacturer",
            management_class=info.management_class if info else "一类",
        )
        return ReferenceData(
            enterprise=enterprise,
            today=date.today(),
            rates=RateLibrary(
                _library_rows(self.store.rate_rows()), self.store.rates_version() or ""
            ),
            customs={(c.entry_no, c.item_no): c for c in customs},
            invoices={i.voucher_no: i for i in invoices},
            vat_returns=vat_returns,
            exchange_rates=exchange_rates,
            declared_lines=declared_lines,
            declared_entries=frozenset(e for e, _ in declared_lines),
            credit_used=credit_used,
            current_software_version=software["version"] if software else None,
        )

    def _einfo_lines(self, kind: str, period: str, warnings: list[str]) -> list[Any]:
        """The e-info of the 36 months up to ``period``, cached per month."""
        months = [_month_add(period, -i) for i in range(EINFO_MONTHS)]
        cached = [self.store.einfo(kind, m) for m in months]
        stale_at = self.store.meta(f"einfo_{kind}_{period}")
        stale = (
            any(c is None for c in cached)
            or stale_at is None
            or datetime.fromisoformat(stale_at) < datetime.now().astimezone() - EINFO_FRESH
        )
        if stale and not self.offline:
            try:
                fetched = self._fetch_einfo(kind, months[-1], period)
            except NetworkError:
                warnings.append(
                    "无法连接平台，本次检查使用本机缓存的电子信息，结果可能不是最新的。"
                )
            else:
                date_key = "export_date" if kind == "customs" else "issue_date"
                by_month: dict[str, list[dict[str, Any]]] = {m: [] for m in months}
                for item in fetched:
                    by_month.setdefault(item[date_key][:7].replace("-", ""), []).append(item)
                for month, items in by_month.items():
                    self.store.set_einfo(kind, month, items)
                self.store.set_meta(
                    f"einfo_{kind}_{period}", datetime.now().astimezone().isoformat()
                )
                cached = [by_month.get(m, []) for m in months]
        cls = CustomsEInfo if kind == "customs" else InvoiceEInfo
        return [from_wire(cls, item) for month in cached if month for item in month]

    def _fetch_einfo(self, kind: str, first: str, last: str) -> list[dict[str, Any]]:
        if kind == "customs":
            return [to_wire(x) for x in iter_all(partial(self.client.customs_einfo, first, last))]
        return [to_wire(x) for x in iter_all(partial(self.client.invoice_einfo, first, last))]

    def _cached(
        self, kind: str, period: str, fetch: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        cached = self.store.einfo(kind, period)
        if cached is not None or self.offline:
            return cached[0] if cached else None
        try:
            value = fetch()
        except NetworkError:
            return None
        self.store.set_einfo(kind, period, [value] if value else [])
        return value


_CUSTOMS_FIELDS = (
    "entry_no",
    "item_no",
    "export_date",
    "commodity_code",
    "commodity_name",
    "unit",
    "quantity",
    "fob_usd",
    "trade_mode",
    "transport_mode",
    "destination_country",
    "declared_quantity_so_far",
    "declared_fob_usd_so_far",
)
_INVOICE_FIELDS = (
    "invoice_code",
    "invoice_no",
    "issue_date",
    "seller_taxpayer_id",
    "commodity_code",
    "commodity_name",
    "unit",
    "quantity",
    "amount",
    "tax_rate",
    "tax",
    "declared_amount_so_far",
)


def _rate_or_none(client: PlatformClient, month: str) -> dict[str, Any] | None:
    try:
        return to_wire(client.exchange_rate(month))  # type: ignore[no-any-return]
    except PlatformError as exc:
        if exc.code == "NOT_FOUND":
            return None
        raise


def _software_version(client: PlatformClient) -> dict[str, Any] | None:
    """The current 出口退税申报系统 of the 下载专区 (for the SCRJ_OLD check)."""
    for item in client.downloads().items:
        if item.kind == "declaration_software":
            return {"version": item.version}
    return None


def _library_rows(rows: list[Any]) -> list[Any]:
    from app.declaration.reference import RateRow as LibraryRow

    return [
        LibraryRow(
            commodity_code=r.commodity_code,
            name=r.name,
            category=r.category,
            unit=r.unit,
            vat_rates=tuple(Decimal(v) for v in r.vat_rate.split(",") if v),
            refund_rate=r.refund_rate,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            special_flag=r.special_flag,
        )
        for r in rows
    ]


def _duplicate_detail(existing: Declaration) -> str:
    at = existing.uploaded_at
    return (
        f"该数据包已于 {at.month}月{at.day}日 {at:%H:%M} 上传（编号 {existing.id}），请勿重复上传。"
    )


def _month_add(period: str, delta: int) -> str:
    index = int(period[:4]) * 12 + int(period[4:6]) - 1 + delta
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def _safe_name(text: str) -> str:
    """A file-name-safe form of an opaque id or a platform-given name."""
    return re.sub(r"[^\w\u4e00-\u9fff()（）-]", "_", text)[:80] or "_"
