"""Builders for package tests: valid rows, raw table XML, hand-made (hostile) zips."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

MANIFEST_FIELDS = {
    "nsrsbh": "91110108MA01HC7K1M",
    "hgdm": "1108361234",
    "qymc": "北京华辰精密机械有限公司",
    "sbywbm": "A0305001",
    "ssq": "202610",
    "sbpc": "001",
    "scrj": "出口退税申报系统 2.0.0",
    "scsj": "2026-11-05T10:20:30+08:00",
}


def mdt_row(i: int, **kw: str) -> dict[str, str]:
    row = {
        "sbxh": f"{i:04d}",
        "ckfph": "",
        "ckbgdh": f"110820260{i:09d}001",
        "ckrq": "20261005",
        "cksp_dm": "8471300000",
        "sbhgspmc": "笔记本电脑",
        "hgjldwmc": "台",
        "cksl": "10",
        "mylaj": "1000.00",
        "rmblaj": "7100.00",
        "zssl": "0.13",
        "tsl": "0.13",
        "jljgszch": "",
        "tzhjhfpl": "",
        "cktmsywlxdmjh": "",
        "bz": "",
    }
    row.update(kw)
    return row


def table_xml(
    name: str, rows: list[dict[str, str]], encoding: str = "UTF-8", decl: bool = True
) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n' if decl else ""
    body = "".join(
        "<row>" + "".join(f"<{k}>{v}</{k}>" for k, v in r.items()) + "</row>\n" for r in rows
    )
    codec = {"UTF-8": "utf-8", "GBK": "gbk"}.get(encoding, "gb18030")
    return (head + f'<table name="{name}">\n{body}</table>\n').encode(codec)


def manifest_xml(
    tables: list[tuple[str, str, int, bytes]], version: str = "2.0", **fields: str
) -> bytes:
    """tables: (name, file, rows, file bytes for the digest)."""
    f = {**MANIFEST_FIELDS, **fields}
    refs = "".join(
        f'<table name="{n}" file="{fn}" rows="{r}" sha256="{hashlib.sha256(b).hexdigest()}"/>'
        for n, fn, r, b in tables
    )
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in f.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sbsjb version="{version}">{inner}'
        f"<tables>{refs}</tables></sbsjb>"
    ).encode()


def write_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def simple_package(
    path: Path,
    rows: list[dict[str, str]] | None = None,
    table: str = "mdt_ckmx",
    data: bytes | None = None,
    declared_rows: int | None = None,
    extra: list[tuple[str | zipfile.ZipInfo, bytes]] = (),  # type: ignore[assignment]
    **fields: str,
) -> Path:
    """A one-table package; ``data`` replaces the table bytes (the digest follows it)."""
    rows = [mdt_row(1), mdt_row(2)] if rows is None else rows
    body = table_xml(table, rows) if data is None else data
    n = len(rows) if declared_rows is None else declared_rows
    manifest = manifest_xml([(table, f"{table}.xml", n, body)], **fields)
    return write_zip(path, [("manifest.xml", manifest), (f"{table}.xml", body), *extra])
