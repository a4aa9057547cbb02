"""Reading and writing declaration packages (申报数据包, docs/package-format.md §1).

``open_package`` runs every check of package-format §1 and protocol §5.1 (rows 2–3):
first the safety checks (``PACKAGE_UNSAFE``: entry names, links, sizes, DTDs), then every
format problem, all collected (``PACKAGE_INVALID``). Tables are stream-parsed with lxml
(no DTD, no entities, no network) and each parsed row is discarded at once, so memory
does not grow with the row count. A row with every column of its table and nothing wrong
with any value is recognised by one match of a whole-row pattern (``_ROW_PATTERNS``);
only the other rows are checked column by column, for the problems to report.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Literal

from lxml import etree

from .businesses import Business, get_business
from .columns import COLUMN_INDEX, DECIMALS, TABLE_COLUMNS, Column

MANIFEST = "manifest.xml"
FORMAT_VERSION = "2.0"
MAX_PROBLEMS = 1000  # kept in detail; every problem is still counted
_MANIFEST_MAX = 1024 * 1024
_PROLOGUE_MAX = 64 * 1024
_CHUNK = 256 * 1024

ErrorCode = Literal["PACKAGE_UNSAFE", "PACKAGE_INVALID"]


@dataclass
class Problem:
    """One thing wrong with a package: where (entry, row = 申报序号, column) and what."""

    entry: str | None
    row: str | None
    column: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        return {
            "entry": self.entry,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }

    def where(self) -> str:
        parts = [self.entry or "数据包"]
        if self.row:
            parts.append(f"申报序号{self.row}")
        if self.column:
            parts.append(f"{self.column}列")
        return " ".join(parts)


class PackageError(Exception):
    """The package was refused; ``detail`` is a Chinese summary for the accountant."""

    def __init__(self, code: ErrorCode, problems: list[Problem], problem_count: int) -> None:
        self.code = code
        self.problems = problems
        self.problem_count = problem_count
        first = problems[0]
        if code == "PACKAGE_UNSAFE":
            head, tail = "数据包存在安全风险，已拒绝", "请使用出口退税申报系统重新生成数据包。"
        else:
            head, tail = "数据包格式不正确", "请在出口退税申报系统中修正后重新生成数据包。"
        self.detail = (
            f"{head}：共 {problem_count} 处问题，第一处：{first.where()}：{first.message}。{tail}"
        )
        super().__init__(self.detail)


@dataclass
class Limits:
    max_entries: int = 1000
    max_total_uncompressed: int = 512 * 1024 * 1024
    ratio_entry_min_size: int = 1024 * 1024
    max_ratio: int = 100


@dataclass
class TableRef:
    name: str
    file: str
    rows: int
    sha256: str


@dataclass
class Manifest:
    version: str
    nsrsbh: str  # 纳税人识别号
    hgdm: str  # 海关代码
    qymc: str  # 企业名称
    sbywbm: str  # 申报业务表代码
    ssq: str  # 所属期 YYYYMM
    sbpc: str  # 申报批次
    scrj: str  # 生成软件
    scsj: str  # 生成时间
    tables: list[TableRef] = field(default_factory=list)


class _Problems:
    """Collects problems, keeping the first ``MAX_PROBLEMS`` and counting all."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.count = 0

    def add(self, entry: str | None, row: str | None, column: str | None, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(entry, row, column, message))

    def raise_if_any(self, code: ErrorCode) -> None:
        if self.count:
            raise PackageError(code, self.items, self.count)


# ---------------------------------------------------------------- value checks (§1.1)

_SEQ = re.compile(r"\d{1,8}")
_INT = re.compile(r"\d+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_NUMBER = re.compile(r"(-?)(\d+)(?:\.(\d+))?")
_YYYYMM = re.compile(r"\d{6}")
_SBPC = re.compile(r"\d{3}")


def parse_date(value: str) -> date | None:
    """A real ``YYYYMMDD`` date, or None."""
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def is_valid_period(value: str) -> bool:
    """所属期: a real ``YYYYMM``."""
    return bool(_YYYYMM.fullmatch(value)) and int(value[:4]) >= 1900 and 1 <= int(value[4:]) <= 12


def period_end(ssq: str) -> date:
    year, month = int(ssq[:4]), int(ssq[4:])
    return date(year, month, calendar.monthrange(year, month)[1])


def value_problem(column: Column, value: str) -> str | None:
    """What is malformed about a stripped ``value`` of ``column`` (Chinese), or None."""
    if not value:
        return "必填项为空" if column.required else None
    if _CONTROL.search(value):
        return "含有不允许的控制字符（除制表符外）"
    kind = column.kind
    if kind in DECIMALS:
        m = _NUMBER.fullmatch(value)
        if m is None or (kind == "rate" and m.group(1)):
            what = "非负小数" if kind == "rate" else "数字（如1234.50）"
            return f"[{value}]不是规范的{what}"
        if m.group(3) and len(m.group(3)) > DECIMALS[kind]:
            return f"[{value}]小数位数超过{DECIMALS[kind]}位"
    elif kind == "date":
        if parse_date(value) is None:
            return f"[{value}]不是有效的日期（YYYYMMDD）"
    elif kind == "seq":
        if not _SEQ.fullmatch(value):
            return f"[{value}]应为1至8位数字"
    elif kind == "int" and not _INT.fullmatch(value):
        return f"[{value}]应为整数"
    if len(value) > column.max_length:
        return f"长度{len(value)}超过该列上限{column.max_length}"
    return None


_SEP = "\x00"  # joins a row's values for _ROW_PATTERNS: no XML text can hold it
_TEXT_CHAR = r"[^\x00-\x08\x0a-\x1f\x7f-\x9f]"  # what _CONTROL lets through
_DATE_CACHE_MAX = 4096  # real dates remembered per table scan (bounded: hostile tables)


def _fine_value(column: Column) -> str:
    """A pattern of exactly the values ``value_problem`` finds nothing wrong with, except
    that a date's digits must still be a real day (checked after the match)."""
    kind, n = column.kind, column.max_length
    if kind in DECIMALS:
        sign = "" if kind == "rate" else "-?"
        # the lookahead bounds the length; the separator is never part of a value
        body = rf"(?=[^{_SEP}]{{1,{n}}}(?:{_SEP}|\Z)){sign}\d+(?:\.\d{{1,{DECIMALS[kind]}}})?"
    elif kind == "date":
        body = r"\d{8}" if n >= 8 else "(?!)"
    elif kind in ("seq", "int"):
        body = rf"\d{{1,{min(n, 8) if kind == 'seq' else n}}}"
    else:
        body = rf"{_TEXT_CHAR}{{1,{n}}}"
    return body if column.required else f"(?:{body})?"


# every column present, in table order, joined by _SEP: a match means no value problem
_ROW_PATTERNS = {
    t: re.compile(_SEP.join(_fine_value(c) for c in cols)) for t, cols in TABLE_COLUMNS.items()
}


# ---------------------------------------------------------------- XML prologue and encoding

_ENCODINGS = {"UTF-8": "UTF-8", "UTF8": "UTF-8", "GB18030": "GB18030", "GBK": "GB18030"}
_ENCODINGS.update({"GB2312": "GB18030", "CP936": "GB18030"})
_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
_UNDECLARED_GBK = (
    "文件不是有效的UTF-8编码，且XML声明中未写明编码；"
    "如果是GBK/GB18030编码，请在XML声明中写明encoding"
)


def _prologue_unsafe(head: bytes) -> bool:
    """True when the bytes before the root element hold a DTD or entity declaration.

    Comments and processing instructions are skipped; any other ``<!`` before the root
    (DOCTYPE, ENTITY, …) counts as a declaration. A prologue longer than the sniffed bytes
    is treated as unsafe too: nobody writes 64 KiB of comments before a table.
    """
    i = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while True:
        j = head.find(b"<", i)
        if j < 0:
            return len(head) >= _PROLOGUE_MAX
        if head.startswith(b"<?", j):
            k = head.find(b"?>", j + 2)
            end = k + 2
        elif head.startswith(b"<!--", j):
            k = head.find(b"-->", j + 4)
            end = k + 3
        else:
            return head.startswith(b"<!", j)
        if k < 0:
            return len(head) >= _PROLOGUE_MAX
        i = end


def _encoding(head: bytes) -> tuple[str, bool] | str:
    """(lxml encoding, declared?) for a file starting with ``head``, or a problem message."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        return "不支持的编码（应为UTF-8或GB18030）"
    m = _DECL_ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    if m is None:
        return "UTF-8", False
    name = m.group(1).decode("ascii").upper()
    if name not in _ENCODINGS:
        return f"不支持的编码{name}（应为UTF-8或GB18030）"
    return _ENCODINGS[name], True


# libxml2's usual syntax errors, in the words an accountant reads (others stay as they are)
_LIBXML_ZH = [
    (re.compile(p), zh)
    for p, zh in (
        (r"Document is empty", "文件内容为空"),
        (r"Start tag expected, '<' not found", "开头不是XML元素（缺少“<”）"),
        (r"Premature end of data in tag (\S+)", r"元素<\1>没有结束，文件不完整（可能被截断）"),
        (r"Opening and ending tag mismatch: (\S+) line \d+ and (\S+)",
         r"开始标签<\1>与结束标签</\2>不匹配"),
        (r"Couldn't find end of Start Tag (\S+)", r"元素<\1>的开始标签没有结束"),
        (r"Extra content at the end of the document", "根元素结束后还有多余的内容"),
        (r"StartTag: invalid element name", "元素名称无效"),
        (r"error parsing attribute name", "属性名称无效"),
        (r"AttValue: \" or ' expected", "属性值缺少引号"),
        (r"Attribute (\S+) redefined", r"属性\1重复"),
        (r"Entity '([^']+)' not defined", r"引用了未定义的实体&\1;"),
        (r"(?:EntityRef: expecting ';'|xmlParseEntityRef: no name)",
         "“&”后不是有效的实体引用：文字中的“&”应写作“&amp;”"),
        (r"(?:PCDATA invalid Char|xmlParseCharRef: invalid xmlChar) value (\d+)",
         r"含有XML不允许的字符（编码\1），多为从其他软件复制来的控制字符，请删除后重新生成"),
        (r"Invalid bytes in character encoding", "含有与声明的编码不符的字节"),
        (r"Sequence '\]\]>' not allowed in content", "内容中不允许出现“]]>”"),
        (r"Comment not terminated", "注释没有结束"),
        (r"CData section not finished", "CDATA段没有结束"),
    )
]  # fmt: skip
_WHERE = re.compile(r",? line \d+, column \d+$")


def _syntax_message(exc: etree.XMLSyntaxError, declared: bool) -> str:
    text = _WHERE.sub("", str(exc.msg or exc).strip())
    if not declared and ("Invalid bytes" in text or "not proper UTF-8" in text):
        return _UNDECLARED_GBK
    for pattern, zh in _LIBXML_ZH:
        m = pattern.match(text)
        if m:
            text = m.expand(zh)
            break
    line, column = exc.position if exc.position else (exc.lineno, 0)
    where = f"第{line}行第{column}列" if column else f"第{line}行"
    return f"XML格式不正确（{where}）：{text}"


class _HashingReader:
    """A file-like wrapper that hashes and counts everything read through it."""

    def __init__(self, raw: IO[bytes], head: bytes = b"") -> None:
        self._raw = raw
        self._head = head
        self.sha = hashlib.sha256(head)

    def read(self, n: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
            return data
        data = self._raw.read(_CHUNK if n is None or n < 0 else min(n, _CHUNK))
        self.sha.update(data)
        return data

    def drain(self) -> str:
        while self.read(_CHUNK):
            pass
        return self.sha.hexdigest()


def _iterparse(source: Any, encoding: str, **kw: Any) -> Any:
    return etree.iterparse(
        source,
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
        **kw,
    )


def _drop_before(el: Any) -> Iterator[str]:
    """Delete the siblings before a parsed row; yield the tags of those that are not rows."""
    parent = el.getparent()
    while el.getprevious() is not None:
        prev = parent[0]
        if prev.tag != "row":
            yield str(prev.tag)
        del parent[0]


# ---------------------------------------------------------------- the package


class Package:
    """A package that passed every check of ``open_package``."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        business: Business,
        encodings: dict[str, str],
        sha256: str,
        size: int,
        padded: frozenset[str] | None = None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.business = business
        self._refs = {t.name: t for t in manifest.tables}
        self._encodings = encodings
        # tables with a value that needs stripping (None: not known, strip everywhere)
        self._padded = padded
        self.sha256 = sha256
        self.size = size
        self.record_count = self._refs[business.main_table].rows

    def tables(self) -> list[str]:
        return [t.name for t in self.manifest.tables]

    def row_count(self, table: str) -> int:
        ref = self._refs.get(table)
        return ref.rows if ref else 0

    def rows(self, table: str) -> Iterator[dict[str, str]]:
        """Stream the rows of ``table`` (none if absent): every column, stripped, "" if missing."""
        ref = self._refs.get(table)
        if ref is None:
            return
        template = dict.fromkeys((c.code for c in TABLE_COLUMNS[table]), "")
        strip = self._padded is None or table in self._padded  # most tables need none
        root = None
        with zipfile.ZipFile(self.path) as zf, zf.open(ref.file) as raw:
            for _, el in _iterparse(raw, self._encodings[table], events=("end",), tag="row"):
                values = template.copy()
                for child in el:
                    text = child.text
                    if text:
                        values[child.tag] = text.strip() if strip else text
                el.clear(keep_tail=True)
                # open_package saw only rows under the root: the first child is the row
                # before this one, already cleared
                if root is None:
                    root = el.getparent()
                else:
                    del root[0]
                yield values


def open_package(path: Path, limits: Limits | None = None) -> Package:
    """Check a package fully and return it, or raise ``PackageError``."""
    limits = limits or Limits()
    path = Path(path)
    problems = _Problems()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        # no entry name: the server reads the upload under a name of its own, and the
        # client and the server must word the same refusal alike
        problem = Problem(None, None, None, "文件不是有效的ZIP数据包")
        raise PackageError("PACKAGE_INVALID", [problem], 1) from None
    with zf:
        infos = zf.infolist()
        _check_safety(zf, infos, limits, problems)
        problems.raise_if_any("PACKAGE_UNSAFE")
        manifest, business = _read_manifest(zf, infos, problems)
        encodings: dict[str, str] = {}
        padded: set[str] = set()
        if manifest is not None and business is not None:
            seen_seq: set[int] = set()
            for ref in manifest.tables:
                info = zf.NameToInfo.get(ref.file)
                if ref.name not in business.all_tables or info is None or info.flag_bits & 0x1:
                    continue  # already reported
                try:
                    enc = _scan_table(zf, ref, problems, seen_seq, padded)
                except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError) as exc:
                    problems.add(
                        ref.file, None, None, f"文件无法解压（数据损坏或压缩方式不支持：{exc}）"
                    )
                    continue
                if enc:
                    encodings[ref.name] = enc
        problems.raise_if_any("PACKAGE_INVALID")
    assert manifest is not None and business is not None
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            sha.update(chunk)
    size = path.stat().st_size
    return Package(path, manifest, business, encodings, sha.hexdigest(), size, frozenset(padded))


def reopen_package(path: Path, sha256: str) -> Package:
    """A package that passed ``open_package`` before, read again without checking every
    row: its bytes must hash to ``sha256`` (those that were checked); otherwise, or if
    its manifest no longer reads as valid, it is checked in full like a new package."""
    path = Path(path)
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            sha.update(chunk)
    if sha.hexdigest() == sha256:
        problems = _Problems()
        with zipfile.ZipFile(path) as zf:
            manifest, business = _read_manifest(zf, zf.infolist(), problems)
            encodings: dict[str, str] = {}
            for ref in manifest.tables if manifest else []:
                with zf.open(ref.file) as raw:
                    enc = _encoding(raw.read(_PROLOGUE_MAX))
                if not isinstance(enc, str):
                    encodings[ref.name] = enc[0]
        if manifest and business and not problems.count and len(encodings) == len(manifest.tables):
            return Package(path, manifest, business, encodings, sha256, path.stat().st_size)
    return open_package(path)


def owner_problem(manifest: Manifest, taxpayer_id: str, customs_code: str | None) -> str | None:
    """Why the package is not this enterprise's (``PACKAGE_OWNER_MISMATCH``, Chinese), or None.

    ``customs_code`` None skips the 海关代码 (a client that does not know it yet).
    """
    if manifest.nsrsbh == taxpayer_id and customs_code in (None, manifest.hgdm):
        return None
    return (
        f"数据包的纳税人识别号[{manifest.nsrsbh}]或海关代码[{manifest.hgdm}]与登录企业不一致，"
        "请确认选择的是本企业的数据包。"
    )


def _check_safety(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits, problems: _Problems
) -> None:
    """Protocol §5.1 row 2: everything that makes a package unsafe to unpack or parse."""
    if len(infos) > limits.max_entries:
        problems.add(None, None, None, f"条目数{len(infos)}超过上限{limits.max_entries}")
        return
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        parts = re.split(r"[/\\]", name)
        if ".." in parts:
            problems.add(name, None, None, "条目路径含有“..”（路径穿越）")
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
            problems.add(name, None, None, "条目使用绝对路径或盘符路径")
        if "\\" in name:
            problems.add(name, None, None, "条目路径含有反斜杠")
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.add(name, None, None, "条目是链接文件")
        if name in seen:
            problems.add(name, None, None, "条目名称重复")
        seen.add(name)
        total += info.file_size
        if info.file_size > limits.ratio_entry_min_size and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            problems.add(name, None, None, f"条目压缩比超过{limits.max_ratio}倍（疑似压缩炸弹）")
    if total > limits.max_total_uncompressed:
        problems.add(None, None, None, f"解压后总大小超过{limits.max_total_uncompressed}字节")
    if problems.count:
        return
    for info in infos:
        if info.is_dir() or info.flag_bits & 0x1:
            continue  # reported as invalid later
        try:
            with zf.open(info) as raw:
                head = raw.read(_PROLOGUE_MAX)
        except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError):
            continue  # reported as invalid when the entry is read
        if _prologue_unsafe(head):
            problems.add(info.filename, None, None, "XML含有DTD或实体声明，已拒绝解析")


def _read_manifest(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], problems: _Problems
) -> tuple[Manifest | None, Business | None]:
    for info in infos:
        if info.is_dir():
            problems.add(info.filename, None, None, "数据包中不允许有目录")
        elif "/" in info.filename:
            problems.add(info.filename, None, None, "文件必须位于数据包根目录")
        elif info.flag_bits & 0x1:
            problems.add(info.filename, None, None, "数据包条目不得加密")
    minfo = zf.NameToInfo.get(MANIFEST)
    if minfo is None:
        problems.add(MANIFEST, None, None, "缺少manifest.xml")
        return None, None
    if minfo.file_size > _MANIFEST_MAX:
        problems.add(MANIFEST, None, None, "manifest.xml过大")
        return None, None
    try:
        data = zf.read(minfo)
    except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError):
        problems.add(MANIFEST, None, None, "manifest.xml无法读取（压缩数据损坏）")
        return None, None
    enc = _encoding(data[:_PROLOGUE_MAX])
    if isinstance(enc, str):
        problems.add(MANIFEST, None, None, enc)
        return None, None
    parser = etree.XMLParser(
        encoding=enc[0], resolve_entities=False, no_network=True, load_dtd=False,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        problems.add(MANIFEST, None, None, _syntax_message(exc, enc[1]))
        return None, None
    if root.tag != "sbsjb":
        problems.add(MANIFEST, None, None, f"根元素应为sbsjb，实为{root.tag}")
        return None, None
    version = root.get("version") or ""
    if version != FORMAT_VERSION:
        problems.add(MANIFEST, None, "version", f"版本[{version}]不受支持，应为{FORMAT_VERSION}")
        return None, None

    def text(tag: str, required: bool = True) -> str:
        el = root.find(tag)
        value = (el.text or "").strip() if el is not None else ""
        if required and not value:
            problems.add(MANIFEST, None, tag, "必填项为空或缺失")
        return value

    m = Manifest(
        version, text("nsrsbh"), text("hgdm"), text("qymc", False), text("sbywbm"),
        text("ssq"), text("sbpc"), text("scrj", False), text("scsj", False),
    )  # fmt: skip
    if m.ssq and not is_valid_period(m.ssq):
        problems.add(MANIFEST, None, "ssq", f"所属期[{m.ssq}]不是有效的年月（YYYYMM）")
    if m.sbpc and not _SBPC.fullmatch(m.sbpc):
        problems.add(MANIFEST, None, "sbpc", f"申报批次[{m.sbpc}]应为3位数字")
    business = get_business(m.sbywbm)
    if business is None and m.sbywbm:
        problems.add(MANIFEST, None, "sbywbm", f"未知的申报业务代码[{m.sbywbm}]")
    files: set[str] = set()
    for el in root.iterfind("tables/table"):
        name, file = el.get("name") or "", el.get("file") or ""
        rows, sha = el.get("rows") or "", (el.get("sha256") or "").lower()
        if business is not None and name not in business.all_tables:
            problems.add(MANIFEST, None, "tables", f"数据表[{name}]不属于业务{business.code}")
        elif any(t.name == name for t in m.tables):
            problems.add(MANIFEST, None, "tables", f"数据表[{name}]重复列出")
        if file == MANIFEST or file in files:
            problems.add(MANIFEST, None, "tables", f"数据表文件[{file}]重复或无效")
        elif file not in zf.NameToInfo:
            problems.add(MANIFEST, None, "tables", f"数据表文件[{file}]不在数据包中")
        if not _INT.fullmatch(rows):
            problems.add(MANIFEST, None, "tables", f"数据表[{name}]的行数[{rows}]不是整数")
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            problems.add(MANIFEST, None, "tables", f"数据表[{name}]的sha256不是64位十六进制")
        files.add(file)
        m.tables.append(TableRef(name, file, int(rows) if _INT.fullmatch(rows) else -1, sha))
    if business is not None:
        listed = {t.name for t in m.tables}
        for name in business.tables:
            if name not in listed:
                problems.add(MANIFEST, None, "tables", f"缺少必需的数据表[{name}]")
    for info in infos:
        name = info.filename
        if not info.is_dir() and "/" not in name and name != MANIFEST and name not in files:
            problems.add(info.filename, None, None, "清单未列出的多余文件")
    return m, business


def _scan_table(
    zf: zipfile.ZipFile, ref: TableRef, problems: _Problems, seen_seq: set[int], padded: set[str]
) -> str | None:
    """Parse one table once: digest, row count, root name, columns, values, sbxh.

    Adds the table to ``padded`` if a value has surrounding whitespace to strip.
    """
    entry = ref.file
    columns = COLUMN_INDEX[ref.name]
    codes = tuple(columns)
    in_order = itemgetter(*codes) if len(codes) > 1 else lambda v: (v[codes[0]],)
    fine_row = _ROW_PATTERNS[ref.name].fullmatch
    dates = tuple(i for i, c in enumerate(TABLE_COLUMNS[ref.name]) if c.kind == "date")
    real_dates: set[str] = set()
    required = [c for c in TABLE_COLUMNS[ref.name] if c.required]
    unknown: set[str] = set()
    absent: dict[str, tuple[int, str]] = {}  # required column → (rows without it, first row)
    count = 0
    with zf.open(entry) as raw:
        head = raw.read(_PROLOGUE_MAX)
        enc = _encoding(head)
        if isinstance(enc, str):
            problems.add(entry, None, None, enc)
            return None
        reader = _HashingReader(raw, head)
        context = _iterparse(reader, enc[0], events=("end",), tag="row")
        try:
            for _, el in context:
                count += 1
                values: dict[str, str] = {}
                for child in el:
                    tag = str(child.tag)
                    if tag in values:
                        problems.add(entry, None, tag, "同一行中该列重复")
                    elif len(child):
                        problems.add(entry, None, tag, "列中不应包含子元素")
                    text = child.text or ""
                    value = values[tag] = text.strip()
                    if value != text:
                        padded.add(ref.name)
                label = values.get("sbxh") or f"第{count}行"
                parent = el.getparent()
                if parent is None or parent.getparent() is not None:
                    problems.add(entry, label, None, "row元素必须直接位于根元素table之下")
                # the usual row: every column once, every value well formed
                if not (
                    len(values) == len(codes)
                    and values.keys() == columns.keys()
                    and _fine_row(fine_row, in_order(values), dates, real_dates)
                ):
                    _check_row(entry, label, values, columns, required, unknown, absent, problems)
                seq = values.get("sbxh", "")
                if _SEQ.fullmatch(seq):
                    number = int(seq)
                    if number in seen_seq:
                        problems.add(entry, label, "sbxh", f"申报序号[{seq}]在数据包中重复")
                    seen_seq.add(number)
                el.clear(keep_tail=True)
                if el.getprevious() is not None:
                    for tag in _drop_before(el):
                        problems.add(entry, None, tag, f"根元素下不应有[{tag}]元素")
            root = context.root
        except etree.XMLSyntaxError as exc:
            problems.add(entry, None, None, _syntax_message(exc, enc[1]))
            return None
        digest = reader.drain()
    if root is not None and root.getroottree().docinfo.doctype:
        problems.add(entry, None, None, "XML含有DTD或实体声明，已拒绝解析")
    if root is None or root.tag != "table":
        problems.add(entry, None, None, "根元素应为table")
    elif root.get("name") != ref.name:
        problems.add(entry, None, None, f"根元素name[{root.get('name')}]与清单[{ref.name}]不符")
    elif len(root):
        for child in root:
            if child.tag != "row":
                problems.add(entry, None, str(child.tag), f"根元素下不应有[{child.tag}]元素")
    for code, (n, first) in absent.items():
        if n == count:
            problems.add(entry, None, code, "缺少必填列")
        else:
            problems.add(entry, first, code, f"共{n}行缺少该必填列")
    if ref.rows >= 0 and count != ref.rows:
        problems.add(entry, None, None, f"实际行数{count}与清单中的行数{ref.rows}不符")
    if digest != ref.sha256:
        problems.add(entry, None, None, "文件的sha256与清单不符（文件可能被修改或损坏）")
    return enc[0]


def _fine_row(
    fine: Callable[[str], Any], values: tuple[str, ...], dates: tuple[int, ...], real: set[str]
) -> bool:
    """True when no value of the row (all columns, in table order) has a problem."""
    if fine(_SEP.join(values)) is None:
        return False
    for i in dates:
        value = values[i]
        if value and value not in real:
            if parse_date(value) is None:
                return False
            if len(real) < _DATE_CACHE_MAX:
                real.add(value)
    return True


def _check_row(
    entry: str,
    label: str,
    values: dict[str, str],
    columns: dict[str, Column],
    required: list[Column],
    unknown: set[str],
    absent: dict[str, tuple[int, str]],
    problems: _Problems,
) -> None:
    """A row off the usual shape: unknown and missing columns, then each value's problem."""
    for tag in values.keys() - columns.keys() - unknown:
        unknown.add(tag)
        problems.add(entry, label, tag, f"未知的列[{tag}]")
    for col in required:
        if col.code not in values:
            n, first = absent.get(col.code, (0, label))
            absent[col.code] = (n + 1, first)
    for tag, value in values.items():
        column = columns.get(tag)
        if column is not None:
            msg = value_problem(column, value)
            if msg:
                problems.add(entry, label, tag, msg)


# ---------------------------------------------------------------- writing

_CODECS = {"UTF-8": "utf-8", "GB18030": "gb18030", "GBK": "gbk", "GB2312": "gb2312"}
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_MANIFEST_FIELDS = ("nsrsbh", "hgdm", "qymc", "sbywbm", "ssq", "sbpc", "scrj", "scsj")


def _esc(value: str) -> str:
    return value.translate(_ESCAPE)


def write_package(
    path: Path,
    manifest: Manifest | Mapping[str, str],
    tables: Mapping[str, Iterable[Mapping[str, str]]],
    encoding: str = "UTF-8",
) -> Path:
    """Write a package: each table streamed to a temp file (hashed, rows counted), then the
    manifest, then the zip, renamed into place atomically. Columns are written in the
    order of package-format §3; keys the table does not define follow in their own order.
    The manifest's ``tables`` (if any) is ignored: it is computed.
    """
    codec = _CODECS[encoding.upper()]
    path = Path(path)
    fields = {
        f: str(manifest[f] if isinstance(manifest, Mapping) else getattr(manifest, f))
        for f in _MANIFEST_FIELDS
    }
    decl = f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".pkg-") as tmp:
        refs: list[TableRef] = []
        for name, rows in tables.items():
            known = [c.code for c in TABLE_COLUMNS.get(name, ())]
            file = f"{name}.xml"
            sha = hashlib.sha256()
            count = 0
            with open(Path(tmp) / file, "wb") as out:

                def emit(text: str, out: IO[bytes] = out, sha: Any = sha) -> None:
                    data = text.encode(codec)
                    sha.update(data)
                    out.write(data)

                emit(f'{decl}<table name="{_esc(name)}">\n')
                buf: list[str] = []
                for row in rows:
                    count += 1
                    buf.append("<row>")
                    for code in [*[k for k in known if k in row], *(row.keys() - set(known))]:
                        value = row[code]
                        buf.append(f"<{code}>{_esc(value)}</{code}>" if value else f"<{code}/>")
                    buf.append("</row>\n")
                    if len(buf) > 4096:
                        emit("".join(buf))
                        buf.clear()
                emit("".join(buf) + "</table>\n")
            refs.append(TableRef(name, file, count, sha.hexdigest()))
        lines = [decl, f'<sbsjb version="{FORMAT_VERSION}">\n']
        lines += [f"  <{f}>{_esc(fields[f])}</{f}>\n" for f in _MANIFEST_FIELDS]
        lines.append("  <tables>\n")
        lines += [
            f'    <table name="{_esc(r.name)}" file="{_esc(r.file)}" rows="{r.rows}" '
            f'sha256="{r.sha256}"/>\n'
            for r in refs
        ]
        lines.append("  </tables>\n</sbsjb>\n")
        zip_tmp = Path(tmp) / "package.zip"
        with zipfile.ZipFile(zip_tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, "".join(lines).encode(codec))
            for r in refs:
                zf.write(Path(tmp) / r.file, r.file)
        os.replace(zip_tmp, path)
    return path
