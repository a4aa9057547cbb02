"""The one HTTP client of the platform protocol (docs/protocol.md, v1).

One typed method per call; every answer is parsed into :mod:`app.models`. Failures are
:class:`~app.errors.PlatformError` (the platform refused, with its ``code`` and Chinese
``detail``) or :class:`~app.errors.NetworkError` (unreachable, timed out, cut).

- Idempotent calls (GETs, and the POSTs the protocol makes idempotent) are retried with
  backoff on connection errors and 5xx; other calls are never repeated blindly.
- Uploads stream the file through a small multipart body (nothing is read whole); an
  upload cut by the network asks the platform whether the package arrived (by sha256)
  before sending it again, so it is never duplicated.
- Downloads stream into a temp file next to the target and are renamed into place.
- An expired token (``TOKEN_INVALID``) is renewed once by logging in again with the
  credentials of this client's login, which live only in this object's memory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from app.errors import NetworkError, PlatformError, local_write_error
from app.logs import log_request
from app.models import (
    RELEASED_STATUSES,
    Attachment,
    CalendarMonth,
    CustomsEInfo,
    Declaration,
    DeclaredCommodity,
    DeclaredDetail,
    Document,
    DocumentType,
    Doubt,
    Download,
    EnterpriseInfo,
    ExchangeRate,
    FeedbackJob,
    FeedbackJobType,
    FeedbackKey,
    Guide,
    Health,
    InvoiceEInfo,
    LoginResult,
    Notice,
    Page,
    ProgressRow,
    RateMeta,
    RateRow,
    SyncPage,
    VatReturn,
    from_wire,
)

if TYPE_CHECKING:
    import requests

T = TypeVar("T")
Progress = Callable[[int, int | None], None]
"""``progress(done_bytes, total_bytes or None)``, called from the calling thread."""

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_PAGE_SIZE = 500
_CHUNK = 1 << 16
_CONNECT_TIMEOUT = 10.0
_UPLOAD_BLOCK = 256 * 1024  # bigger than urllib3's 16 KiB reads: fewer Python round trips


def api_base(url: str) -> str:
    """``http://host:port`` or ``…/api/v1`` → the API base ending in ``/api/v1``."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


class PlatformClient:
    """A client of one platform. Not tied to one enterprise until :meth:`login`."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        resume_timeout: float = 120.0,
        upload_timeout: float = 120.0,
    ) -> None:
        self.base_url = api_base(base_url)
        self.server = self.base_url[: -len(API_PREFIX)]
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.resume_timeout = resume_timeout
        # A big package is checked before the platform answers: wait longer for that.
        self.upload_timeout = upload_timeout
        self.token: str | None = None
        self._http_session = session
        self._http_lock = threading.Lock()
        self._relogin: tuple[str, str, str] | None = None

    @property
    def _http(self) -> requests.Session:
        """The HTTP session, made at the first call: importing ``requests`` takes ~60 ms,
        and an enterprise opened from its local store may never go online (P1)."""
        with self._http_lock:  # the network pool's threads may all start at once
            if self._http_session is None:
                import requests

                self._http_session = requests.Session()
            return self._http_session

    def close(self) -> None:
        if self._http_session is not None:
            self._http_session.close()

    # -- plumbing --------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        idempotent: bool | None = None,
        auth: bool = True,
        read_timeout: float | None = None,
    ) -> requests.Response:
        import requests

        if idempotent is None:
            idempotent = method in ("GET", "PUT")
        attempts = 1 + (self.retries if idempotent else 0)
        timeout = (min(_CONNECT_TIMEOUT, self.timeout), read_timeout or self.timeout)
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        renewed = False
        attempt = 0
        while True:
            hdrs = dict(headers or {})
            if auth and self.token:
                hdrs["Authorization"] = "Bearer " + self.token
            if body is not None:
                hdrs["Content-Type"] = "application/json"
            if hasattr(data, "rewind"):
                data.rewind()
            started = time.monotonic()
            try:
                resp = self._http.request(
                    method,
                    self.base_url + path,
                    params=clean,
                    data=json.dumps(body, ensure_ascii=False).encode()
                    if body is not None
                    else data,
                    headers=hdrs,
                    stream=stream,
                    timeout=timeout,
                )
            except requests.RequestException as exc:
                log_request(method, path, "ERR", (time.monotonic() - started) * 1000)
                attempt += 1
                if attempt < attempts:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                raise NetworkError(self._network_detail(exc)) from exc
            log_request(method, path, resp.status_code, (time.monotonic() - started) * 1000)
            if resp.status_code >= 500 and attempt + 1 < attempts:
                resp.close()
                attempt += 1
                time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if resp.status_code < 400:
                return resp
            error = _problem(resp)
            if error.code == "TOKEN_INVALID" and auth:
                if self._relogin and not renewed:
                    renewed = True
                    if self._renew_token():
                        continue
                self.token = None
            raise error

    def _renew_token(self) -> bool:
        assert self._relogin is not None
        try:
            self.login(*self._relogin)
        except PlatformError as exc:
            log.info("token renewal refused: %s", exc.code)
            self._relogin = None
            return False
        return True

    def _network_detail(self, exc: Exception) -> str:
        import requests

        host = urlsplit(self.server).netloc
        if isinstance(exc, requests.ConnectTimeout):
            return f"无法连接到服务器（{host}），请检查网络或稍后重试。"
        if isinstance(exc, requests.Timeout) or _caused_by_timeout(exc):
            # also a stall in the middle of a body, which requests reports as ConnectionError
            return f"服务器（{host}）长时间没有响应，请稍后重试。"
        if isinstance(exc, requests.ConnectionError) and not _cut_midway(exc):
            return f"无法连接到服务器（{host}），请检查网络或稍后重试。"
        return f"与服务器（{host}）的连接中断，请检查网络或稍后重试。"

    def _get(self, cls: type[T], path: str, **params: Any) -> T:
        return _parse(cls, self._request("GET", path, params=params))

    def _page(self, cls: type[T], path: str, **params: Any) -> Page[T]:
        data = _json(self._request("GET", path, params=params))
        try:
            return Page(int(data["total"]), [from_wire(cls, item) for item in data["items"]])
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad_answer(path) from exc

    def _post(self, cls: type[T], path: str, body: Any = None, *, idempotent: bool = False) -> T:
        return _parse(cls, self._request("POST", path, body=body, idempotent=idempotent))

    def _download(
        self, path: str, dest: Path, progress: Progress | None = None, *, resume: bool = True
    ) -> Path:
        """Stream ``path`` into ``dest`` (temp file + rename). When the connection is cut,
        go on from the bytes already here if the server answers a ``Range`` request for
        the same file (``If-Range``), else start again."""
        import uuid

        import requests

        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        attempt = 0
        done = 0
        total: int | None = None
        validator = ""  # the file's ETag (or Last-Modified): what a resumed range must match
        try:
            while True:
                headers = {}
                if done and validator and (total is None or done < total):
                    headers = {"Range": f"bytes={done}-", "If-Range": validator}
                resp = self._request("GET", path, stream=True, headers=headers)
                try:
                    if resp.status_code == 206 and _range_start(resp) == done:
                        mode = "ab"
                    else:  # the whole file (first try, or the server did not resume)
                        mode, done = "wb", 0
                        total = int(resp.headers.get("Content-Length") or 0) or None
                        validator = resp.headers.get("ETag") or resp.headers.get(
                            "Last-Modified", ""
                        )
                    with part.open(mode) as f:
                        for chunk in resp.iter_content(_CHUNK):
                            f.write(chunk)
                            done += len(chunk)
                            if progress:
                                progress(done, total)
                        f.flush()
                        os.fsync(f.fileno())  # complete on disk before it gets its name
                    break
                except requests.RequestException as exc:  # before OSError: it is one too
                    attempt += 1
                    if not resume or attempt > self.retries:
                        raise NetworkError(self._network_detail(exc)) from exc
                    time.sleep(self.backoff * 2 ** (attempt - 1))
                except OSError as exc:  # writing here: a full disk, a lost folder …
                    raise local_write_error(exc, "下载的文件") from exc
                finally:
                    resp.close()
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
        return dest

    # -- §1 health, §2 login -----------------------------------------------------------------

    def health(self) -> Health:
        return _parse(Health, self._request("GET", "/health", auth=False))

    def login(
        self, account_type: str, account: str, password: str, *, keep_for_renewal: bool = True
    ) -> LoginResult:
        """登录. With ``keep_for_renewal`` the credentials stay in this object's memory so an
        expired token can be renewed; they are never written anywhere."""
        result = _parse(
            LoginResult,
            self._request(
                "POST",
                "/auth/login",
                body={"account_type": account_type, "account": account, "password": password},
                auth=False,
            ),
        )
        self.token = result.token
        self._relogin = (account_type, account, password) if keep_for_renewal else None
        return result

    def renew_with(self, account_type: str, account: str, password: str) -> None:
        """Credentials (memory only) to renew a token that expired or was forgotten."""
        self._relogin = (account_type, account, password)

    def change_password(self, old_password: str, new_password: str) -> None:
        self._request(
            "POST",
            "/auth/password",
            body={"old_password": old_password, "new_password": new_password},
        )
        if self._relogin:
            self._relogin = (self._relogin[0], self._relogin[1], new_password)

    def logout(self) -> None:
        try:
            if self.token:
                self._request("POST", "/auth/logout", idempotent=True)
        finally:
            self.token = None
            self._relogin = None

    # -- §3 enterprise ----------------------------------------------------------------------

    def enterprise(self) -> EnterpriseInfo:
        return self._get(EnterpriseInfo, "/enterprise")

    def update_contact(self, contact_name: str, contact_phone: str) -> EnterpriseInfo:
        return _parse(
            EnterpriseInfo,
            self._request(
                "PUT",
                "/enterprise/contact",
                body={"contact_name": contact_name, "contact_phone": contact_phone},
            ),
        )

    def feedback_key(self) -> FeedbackKey:
        return self._get(FeedbackKey, "/enterprise/feedback-key")

    # -- §4 e-info --------------------------------------------------------------------------

    def customs_einfo(
        self,
        period_from: str | None = None,
        period_to: str | None = None,
        *,
        page: int = 1,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[CustomsEInfo]:
        return self._page(
            CustomsEInfo,
            "/e-info/customs",
            period_from=period_from,
            period_to=period_to,
            page=page,
            page_size=page_size,
        )

    def invoice_einfo(
        self,
        period_from: str | None = None,
        period_to: str | None = None,
        *,
        page: int = 1,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[InvoiceEInfo]:
        return self._page(
            InvoiceEInfo,
            "/e-info/invoices",
            period_from=period_from,
            period_to=period_to,
            page=page,
            page_size=page_size,
        )

    def vat_return(self, period: str) -> VatReturn:
        return self._get(VatReturn, "/e-info/vat-returns", period=period)

    def exchange_rate(self, period: str) -> ExchangeRate:
        return self._get(ExchangeRate, "/e-info/exchange-rates", period=period)

    # -- §5 declarations --------------------------------------------------------------------

    def upload_declaration(
        self,
        path: Path,
        stage: str,
        progress: Progress | None = None,
        *,
        sha256: str | None = None,
    ) -> Declaration:
        """上传申报数据包 (streamed). A cut upload is resumed only after asking the platform
        whether it already has the package, so the platform never gets it twice."""
        from app.documents import file_sha256

        digest = (sha256 or file_sha256(path)).lower()
        deadline: float | None = None
        while True:
            body = _MultipartBody({"stage": stage}, "file", path, "application/zip", progress)
            try:
                resp = self._request(
                    "POST",
                    "/declarations",
                    data=body,
                    headers={"Content-Type": body.content_type},
                    read_timeout=max(self.timeout, self.upload_timeout),
                )
                return _parse(Declaration, resp)
            except NetworkError:
                if deadline is None:
                    deadline = time.monotonic() + self.resume_timeout
                elif time.monotonic() > deadline:
                    raise
                log.info("upload of %s cut; asking the platform whether it arrived", path.name)
                received = self._find_uploaded(digest, stage, deadline)
                if received is not None:
                    return received
            except PlatformError as exc:
                # A retry refused as a duplicate means the cut attempt did arrive.
                if deadline is not None and exc.code == "PACKAGE_DUPLICATE" and exc.existing_id:
                    return self.declaration(exc.existing_id)
                raise
            finally:
                body.close()

    def _find_uploaded(self, sha256: str, stage: str, deadline: float) -> Declaration | None:
        """The declaration holding this package, once the platform answers again."""
        delay = self.backoff
        while True:
            try:
                page = self.list_declarations(stage=stage, page_size=100)
            except NetworkError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            for item in page.items:
                if item.sha256.lower() == sha256 and item.status not in RELEASED_STATUSES:
                    return item
            return None

    def list_declarations(
        self,
        *,
        stage: str | None = None,
        status: str | None = None,
        period: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Page[Declaration]:
        return self._page(
            Declaration,
            "/declarations",
            stage=stage,
            status=status,
            period=period,
            page=page,
            page_size=page_size,
        )

    def declaration(self, declaration_id: str) -> Declaration:
        return self._get(Declaration, f"/declarations/{_seg(declaration_id)}")

    def doubts(
        self, declaration_id: str, *, page: int = 1, page_size: int = MAX_PAGE_SIZE
    ) -> Page[Doubt]:
        return self._page(
            Doubt, f"/declarations/{_seg(declaration_id)}/doubts", page=page, page_size=page_size
        )

    def download_feedback(
        self, declaration_id: str, dest: Path, progress: Progress | None = None
    ) -> Path:
        """预审核反馈 (encrypted zip) into ``dest``."""
        return self._download(f"/declarations/{_seg(declaration_id)}/feedback", dest, progress)

    def convert(self, declaration_id: str) -> Declaration:
        """转正式申报."""
        return self._post(Declaration, f"/declarations/{_seg(declaration_id)}/convert")

    def delete_declaration(self, declaration_id: str) -> None:
        self._request("DELETE", f"/declarations/{_seg(declaration_id)}")

    def confirm(self, declaration_id: str) -> Declaration:
        """确认申报."""
        return self._post(Declaration, f"/declarations/{_seg(declaration_id)}/confirm")

    def withdraw(self, declaration_id: str) -> Declaration:
        """撤回正式申报."""
        return self._post(Declaration, f"/declarations/{_seg(declaration_id)}/withdraw")

    def upload_attachment(
        self, declaration_id: str, path: Path, category: str, progress: Progress | None = None
    ) -> Attachment:
        """附列资料 (PDF/JPG/PNG)."""
        with _MultipartBody(
            {"category": category}, "file", path, "application/octet-stream", progress
        ) as body:
            resp = self._request(
                "POST",
                f"/declarations/{_seg(declaration_id)}/attachments",
                data=body,
                headers={"Content-Type": body.content_type},
                read_timeout=max(self.timeout, self.upload_timeout),
            )
        return _parse(Attachment, resp)

    def attachments(self, declaration_id: str) -> Page[Attachment]:
        return self._page(Attachment, f"/declarations/{_seg(declaration_id)}/attachments")

    def download_attachment(
        self,
        declaration_id: str,
        attachment_id: str,
        dest: Path,
        progress: Progress | None = None,
    ) -> Path:
        return self._download(
            f"/declarations/{_seg(declaration_id)}/attachments/{_seg(attachment_id)}",
            dest,
            progress,
        )

    def delete_attachment(self, declaration_id: str, attachment_id: str) -> None:
        self._request(
            "DELETE", f"/declarations/{_seg(declaration_id)}/attachments/{_seg(attachment_id)}"
        )

    def acceptance_pdf(self, declaration_id: str, dest: Path) -> Path:
        """受理文书 PDF into ``dest``."""
        return self._download(f"/declarations/{_seg(declaration_id)}/acceptance.pdf", dest)

    # -- §6 feedback jobs -------------------------------------------------------------------

    def feedback_job_types(self) -> Page[FeedbackJobType]:
        return self._page(FeedbackJobType, "/feedback-jobs/types")

    def create_feedback_job(self, category: str, type: str, period: str) -> FeedbackJob:
        # The platform answers an identical request with the same job: safe to retry.
        return self._post(
            FeedbackJob,
            "/feedback-jobs",
            {"category": category, "type": type, "period": period},
            idempotent=True,
        )

    def feedback_job(self, job_id: str) -> FeedbackJob:
        return self._get(FeedbackJob, f"/feedback-jobs/{_seg(job_id)}")

    def feedback_jobs(self, *, page: int = 1, page_size: int = 50) -> Page[FeedbackJob]:
        return self._page(FeedbackJob, "/feedback-jobs", page=page, page_size=page_size)

    def download_feedback_job(
        self, job_id: str, dest: Path, progress: Progress | None = None
    ) -> Path:
        return self._download(f"/feedback-jobs/{_seg(job_id)}/download", dest, progress)

    # -- §7 everything else -----------------------------------------------------------------

    def document_types(self) -> Page[DocumentType]:
        return self._page(DocumentType, "/documents/types")

    def create_document(self, type: str, period: str | None = None) -> Document:
        """文书开具."""
        body: dict[str, str] = {"type": type}
        if period:
            body["period"] = period
        return self._post(Document, "/documents", body)

    def documents(self, *, page: int = 1, page_size: int = 50) -> Page[Document]:
        return self._page(Document, "/documents", page=page, page_size=page_size)

    def document_pdf(self, document_id: str, dest: Path) -> Path:
        return self._download(f"/documents/{_seg(document_id)}/pdf", dest)

    def progress(self, year: int | str) -> Page[ProgressRow]:
        """退税进度 of the declarations whose 所属期 is in ``year``."""
        return self._page(ProgressRow, "/progress", year=year)

    def notices(
        self,
        *,
        category: str | None = None,
        unread: bool | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Page[Notice]:
        return self._page(
            Notice, "/notices", category=category, unread=unread, page=page, page_size=page_size
        )

    def mark_notice_read(self, notice_id: str) -> None:
        self._request("POST", f"/notices/{_seg(notice_id)}/read", idempotent=True)

    def declared_commodities(
        self, q: str | None = None, *, page: int = 1, page_size: int = 50
    ) -> Page[DeclaredCommodity]:
        return self._page(
            DeclaredCommodity, "/declared-commodities", q=q, page=page, page_size=page_size
        )

    def declared_details(
        self,
        *,
        entry_no: str | None = None,
        q: str | None = None,
        period_from: str | None = None,
        period_to: str | None = None,
        page: int = 1,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[DeclaredDetail]:
        return self._page(
            DeclaredDetail,
            "/declared-details",
            entry_no=entry_no,
            q=q,
            period_from=period_from,
            period_to=period_to,
            page=page,
            page_size=page_size,
        )

    def rates(
        self, q: str | None = None, *, on: str | None = None, page: int = 1, page_size: int = 50
    ) -> Page[RateRow]:
        return self._page(RateRow, "/rates", q=q, date=on, page=page, page_size=page_size)

    def rates_meta(self) -> RateMeta:
        return self._get(RateMeta, "/rates/meta")

    def rates_export(self, etag: str | None = None) -> tuple[str | None, Iterator[RateRow] | None]:
        """The whole rate library as ``(etag, rows)``; ``rows`` is None when ``etag`` is
        still current (304). The rows stream: consume them before the next call."""
        headers = {"If-None-Match": etag} if etag else {}
        resp = self._request("GET", "/rates/export", headers=headers, stream=True)
        new_etag = resp.headers.get("ETag")
        if resp.status_code == 304:
            resp.close()
            return etag, None

        def rows() -> Iterator[RateRow]:
            try:
                for line in resp.iter_lines():
                    if line.strip():
                        yield from_wire(RateRow, json.loads(line))
            finally:
                resp.close()

        return new_etag, rows()

    def calendar(self, year: int | str) -> Page[CalendarMonth]:
        return self._page(CalendarMonth, "/calendar", year=year)

    def guides(self, category: str | None = None) -> Page[Guide]:
        return self._page(Guide, "/guides", category=category)

    def guide(self, guide_id: str) -> Guide:
        return self._get(Guide, f"/guides/{_seg(guide_id)}")

    def downloads(self) -> Page[Download]:
        return self._page(Download, "/downloads")

    def download_file(self, download_id: str, dest: Path, progress: Progress | None = None) -> Path:
        return self._download(f"/downloads/{_seg(download_id)}/file", dest, progress)

    # -- §8 sync ----------------------------------------------------------------------------

    def sync(self, cursor: int, wait: int = 0) -> SyncPage:
        """What changed for this enterprise after ``cursor``; holds up to ``wait`` seconds."""
        return _parse(
            SyncPage,
            self._request(
                "GET",
                "/sync",
                params={"cursor": cursor, "wait": wait},
                read_timeout=wait + self.timeout,
            ),
        )


def iter_all(fetch: Callable[..., Page[T]]) -> Iterator[T]:
    """Every item of a paged list: ``fetch(page=n)`` for n = 1, 2, … until all are read."""
    page = 1
    seen = 0
    while True:
        result = fetch(page=page)
        yield from result.items
        seen += len(result.items)
        if not result.items or seen >= result.total:
            return
        page += 1


class _MultipartBody:
    """A ``multipart/form-data`` body that streams one file: a file-like object with a
    length, so ``requests`` sends it with ``Content-Length`` in blocks, never whole."""

    def __init__(
        self,
        fields: dict[str, str],
        file_field: str,
        path: Path,
        file_type: str,
        progress: Progress | None,
    ) -> None:
        import uuid

        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        ]
        name = path.name.replace('"', "%22").replace("\r", "").replace("\n", "")
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{name}"\r\nContent-Type: {file_type}\r\n\r\n'
        )
        self._head = "".join(parts).encode("utf-8")
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self._file: IO[bytes] = path.open("rb")
        self._size = os.fstat(self._file.fileno()).st_size
        self._progress = progress
        self.rewind()

    def rewind(self) -> None:
        self._file.seek(0)
        self._sent = 0
        self._stage = 0  # 0 head, 1 file, 2 tail, 3 done

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(_CHUNK):
            yield block

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        block = b""
        if self._stage == 0:
            block = self._head
            self._stage = 1
        elif self._stage == 1:
            block = self._file.read(max(size, _UPLOAD_BLOCK))
            if not block:
                self._stage = 2
                return self.read(size)
        elif self._stage == 2:
            block = self._tail
            self._stage = 3
        self._sent += len(block)
        if self._progress and block:
            self._progress(self._sent, len(self))
        return block

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _MultipartBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _range_start(resp: Any) -> int | None:
    """The first byte of a ``206`` answer (``Content-Range: bytes 100-999/1000``)."""
    found = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
    return int(found.group(1)) if found else None


def _caused_by_timeout(exc: BaseException) -> bool:
    """A socket timeout somewhere in ``exc`` (a stall mid-body arrives wrapped)."""
    from urllib3.exceptions import ReadTimeoutError

    # not urllib3's TimeoutError: its NewConnectionError (refused) is one of those
    return _chain_has(exc, (TimeoutError, ReadTimeoutError))


def _cut_midway(exc: BaseException) -> bool:
    """A connection that was up and then broke (reset, closed mid-answer), as opposed
    to one that could not be made at all."""
    from http.client import RemoteDisconnected

    import requests
    from urllib3.exceptions import ProtocolError

    cut = (ProtocolError, ConnectionResetError, BrokenPipeError, RemoteDisconnected)
    return isinstance(exc, requests.exceptions.ChunkedEncodingError) or _chain_has(exc, cut)


def _chain_has(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc``, its causes or the errors it wraps (``args``, ``reason``) include
    one of ``types`` — requests and urllib3 wrap the socket's error several levels deep."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, types):
            return True
        todo += [item.__cause__, getattr(item, "reason", None), *item.args]
    return False


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _seg(value: str) -> str:
    """Ids are opaque: quote them as one path segment."""
    return quote(str(value), safe="")


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise _bad_answer(urlsplit(resp.url).path) from exc


def _parse(cls: type[T], resp: requests.Response) -> T:
    data = _json(resp)
    try:
        return from_wire(cls, data)
    except (TypeError, ValueError) as exc:
        raise _bad_answer(urlsplit(resp.url).path) from exc


def _bad_answer(path: str) -> PlatformError:
    log.error("unexpected answer from %s", path)
    return PlatformError(
        502, "BAD_ANSWER", "平台返回了无法识别的内容，请稍后重试；如持续出现，请联系主管税务机关。"
    )


def _problem(resp: requests.Response) -> PlatformError:
    """problem+json → PlatformError; any other error body → a generic Chinese one."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    finally:
        resp.close()
    status = resp.status_code
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        if "Retry-After" in resp.headers:
            body.setdefault("retry_after", resp.headers["Retry-After"])
        detail = str(body.get("detail") or body.get("title") or f"平台拒绝了请求（{status}）")
        return PlatformError(status, body["code"], detail, body)
    return PlatformError(
        status,
        f"HTTP_{status}",
        f"平台返回了错误（HTTP {status}），请稍后重试；如持续出现，请联系主管税务机关。",
    )
