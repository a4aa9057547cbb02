"""Feedback packages (反馈): check, decrypt and safely extract them; index what is inside.

A feedback zip is WinZip AES-256 encrypted with the enterprise's feedback key; its clear
comment names the enterprise (protocol §6). Extraction is defensive — a zip from anywhere
must not write outside its folder or fill the disk: entry count and total size are
capped, each entry is streamed with its bytes counted, every target must lie inside the
folder, links and duplicate names are refused. Everything is extracted into a temp folder
next to the target and renamed into place only when complete and verified.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from app.errors import DISK_FULL_DETAIL, LocalError, local_write_error

FEEDBACK_JSON = "feedback.json"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    max_entries: int = 1000
    max_total: int = 4 * 1024**3  # uncompressed bytes
    max_ratio: int = 200  # for entries over ``ratio_min_size``
    ratio_min_size: int = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FeedbackComment:
    """The clear zip comment: which key, which kind, which enterprise."""

    key_id: str
    kind: str
    enterprise: str
    created_at: str


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    kind: str
    taxpayer_id: str
    declaration_id: str | None
    period: str | None
    result: int | None
    doubt_count: int
    row_count: int


def read_comment(zip_path: Path, expected_taxpayer_id: str) -> FeedbackComment:
    """The zip comment, refusing a file that is not this enterprise's feedback."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            raw = zf.comment
    except (zipfile.BadZipFile, OSError) as exc:
        raise LocalError("反馈文件已损坏或不完整，请重新下载。", code="BAD_ZIP") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
        comment = FeedbackComment(
            str(data["key_id"]), str(data["kind"]), str(data["enterprise"]), str(data["created_at"])
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise LocalError(
            "该文件不是平台生成的反馈文件（缺少反馈信息），已拒绝导入。", code="NOT_FEEDBACK"
        ) from exc
    if comment.enterprise != expected_taxpayer_id:
        raise LocalError(
            f"该反馈文件属于其他企业（纳税人识别号 {comment.enterprise}），"
            f"不是当前企业（{expected_taxpayer_id}）的，已拒绝导入。",
            code="WRONG_ENTERPRISE",
        )
    if not re.fullmatch(r"[a-z_]{1,40}", comment.kind):
        raise LocalError("反馈文件的类型无法识别，已拒绝导入。", code="NOT_FEEDBACK")
    return comment


def extract_feedback(
    zip_path: Path,
    key: str,
    dest_dir: Path,
    expected_taxpayer_id: str,
    limits: Limits = Limits(),
) -> Path:
    """Decrypt ``zip_path`` into ``dest_dir`` (which must not exist yet) and return it.

    Idempotent: an existing ``dest_dir`` was renamed into place complete, and is returned.
    Raises :class:`LocalError` with ``code`` BAD_KEY (wrong key), WRONG_ENTERPRISE,
    UNSAFE (traversal, link, bomb …), BAD_ZIP or DISK_FULL; nothing is left behind then.
    """
    import pyzipper

    if dest_dir.is_dir():
        return dest_dir
    read_comment(zip_path, expected_taxpayer_id)
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = dest_dir.parent / f".{dest_dir.name}.{uuid.uuid4().hex[:8]}.partial"
    temp.mkdir()
    try:
        with pyzipper.AESZipFile(zip_path) as zf:
            zf.setpassword(key.encode("utf-8"))
            plan = _plan(zf.infolist(), temp.resolve(), limits)
            needed = sum(info.file_size for info, _ in plan)
            if shutil.disk_usage(temp).free < needed + 64 * 1024**2:
                # keep a reserve: a disk filled to the brim breaks everything else
                raise LocalError(DISK_FULL_DETAIL.format(what="反馈文件"), code="DISK_FULL")
            # each file is flushed to disk in the background while the next one is
            # decrypted; the folder is renamed into place only after every flush
            with ThreadPoolExecutor(1, thread_name_prefix="fsync") as syncer:
                flushed = [
                    syncer.submit(_sync_and_close, _extract_one(zf, info, target))
                    for info, target in plan
                ]
            for f in flushed:
                f.result()
        if FeedbackIndex.taxpayer_id(temp) != expected_taxpayer_id:
            raise LocalError("反馈文件的内容不属于当前企业，已拒绝导入。", code="WRONG_ENTERPRISE")
        try:
            os.rename(temp, dest_dir)
        except OSError:
            if not dest_dir.is_dir():  # not a concurrent extraction of the same file
                raise
    except RuntimeError as exc:  # pyzipper: "Bad password for file"
        raise LocalError(
            "反馈文件解密失败：反馈密钥不正确（可能已更换）。请重新登录后再下载，"
            "系统会从平台重新获取密钥。",
            code="BAD_KEY",
        ) from exc
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise LocalError("反馈文件已损坏或不完整，请重新下载。", code="BAD_ZIP") from exc
    except OSError as exc:  # DISK_FULL (ENOSPC, quota) or IO, in Chinese
        raise local_write_error(exc, "反馈文件") from exc
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return dest_dir


def _plan(infos: list[zipfile.ZipInfo], root: Path, limits: Limits) -> list[tuple[Any, Path]]:
    """Where each entry goes — or LocalError if any entry is unsafe."""
    if len(infos) > limits.max_entries:
        raise _unsafe(f"文件数量过多（{len(infos)} 个）")
    seen: set[str] = set()
    total = 0
    plan = []
    for info in infos:
        name = _entry_name(info)
        if info.is_dir():
            continue
        if (
            not name
            or "\\" in name
            or name.startswith("/")
            or re.match(r"^[A-Za-z]:", name)
            or any(part in ("", ".", "..") for part in name.split("/"))
        ):
            raise _unsafe(f"包含不安全的路径（{name}）")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _unsafe(f"包含链接（{name}）")
        if name.casefold() in seen:
            raise _unsafe(f"包含重名文件（{name}）")
        seen.add(name.casefold())
        target = (root / name).resolve()
        if not target.is_relative_to(root):
            raise _unsafe(f"包含不安全的路径（{name}）")
        total += info.file_size
        if total > limits.max_total:
            raise _unsafe("解压后的总大小超出上限")
        if info.file_size > limits.ratio_min_size and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise _unsafe(f"压缩比异常（{name}）")
        plan.append((info, target))
    return plan


def _extract_one(zf: Any, info: zipfile.ZipInfo, target: Path) -> BinaryIO:
    """Write the entry to ``target``; the file is returned open, for ``_sync_and_close``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    out = target.open("xb")
    try:
        with zf.open(info) as src:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size:  # the header lied about the size
                    raise _unsafe(f"文件实际大小超出声明（{info.filename}）")
                out.write(chunk)
        out.flush()
    except BaseException:
        out.close()
        raise
    return out


def _sync_and_close(out: BinaryIO) -> None:
    """On disk before the folder is renamed into place (a full disk may only say so now)."""
    with out:
        os.fsync(out.fileno())


def _entry_name(info: zipfile.ZipInfo) -> str:
    """Entry name; names from older Chinese tools lack the UTF-8 flag and are GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _unsafe(what: str) -> LocalError:
    return LocalError(
        f"反馈文件存在安全风险，已拒绝解压：{what}。请联系主管税务机关核实。", code="UNSAFE"
    )


class FeedbackIndex:
    """Reads an extracted folder's ``feedback.json`` by streaming (files can be large)."""

    @staticmethod
    def read(folder: Path) -> FeedbackSummary:
        values: dict[str, Any] = {}
        doubts = rows = 0
        wanted = {
            "kind",
            "enterprise.taxpayer_id",
            "declaration.id",
            "declaration.period",
            "result",
        }
        for prefix, event, value in _events(folder):
            if event == "start_map":
                if prefix == "doubts.item":
                    doubts += 1
                elif prefix == "rows.item":
                    rows += 1
            elif prefix in wanted and event in ("string", "number"):
                values[prefix] = value
        result = values.get("result")
        return FeedbackSummary(
            kind=str(values.get("kind", "")),
            taxpayer_id=str(values.get("enterprise.taxpayer_id", "")),
            declaration_id=values.get("declaration.id"),
            period=values.get("declaration.period"),
            result=int(result) if result is not None else None,
            doubt_count=doubts,
            row_count=rows,
        )

    @staticmethod
    def taxpayer_id(folder: Path) -> str | None:
        """The enterprise ``feedback.json`` names, reading only as far as that."""
        for prefix, event, value in _events(folder):
            if prefix == "enterprise.taxpayer_id" and event == "string":
                return str(value)
        return None

    @staticmethod
    def doubts(folder: Path) -> Iterator[dict[str, Any]]:
        """The doubts of a pre-audit feedback, one at a time."""
        import ijson

        with (folder / FEEDBACK_JSON).open("rb") as f:
            yield from ijson.items(f, "doubts.item")

    @staticmethod
    def rows(folder: Path) -> Iterator[dict[str, Any]]:
        """The result rows of a feedback job, one at a time (numbers as Decimal)."""
        import ijson

        with (folder / FEEDBACK_JSON).open("rb") as f:
            yield from ijson.items(f, "rows.item")


def _events(folder: Path) -> Iterator[tuple[str, str, Any]]:
    import ijson

    try:
        with (folder / FEEDBACK_JSON).open("rb") as f:
            yield from ijson.parse(f)
    except FileNotFoundError as exc:
        raise LocalError("反馈文件中缺少 feedback.json，内容不完整。", code="BAD_ZIP") from exc
    except ijson.JSONError as exc:
        raise LocalError("反馈文件中的 feedback.json 无法读取。", code="BAD_ZIP") from exc
