"""反馈包: the encrypted ZIP every feedback reaches the enterprise in (protocol §6).

WinZip AES-256 (pyzipper ``WZ_AES``), password = the enterprise's feedback key; the zip
comment (not encrypted) says whose it is. Inside: ``feedback.json`` and a GB18030 CSV for
Excel. The same inputs give the same bytes: entries carry a fixed time, and each entry's
AES salt is derived from the key and the content (not random), so a stored package can
be re-made bit for bit.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import uuid
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyzipper
from Cryptodome.Cipher import AES
from Cryptodome.Hash import HMAC, SHA1
from Cryptodome.Protocol.KDF import PBKDF2
from Cryptodome.Util import Counter
from pyzipper.zipfile_aes import AESZipEncrypter

from server_stub.settings import fault_pause

KEY_BYTES = 32
SALT_BYTES = 16
CSV_ENCODING = "gb18030"
TEMP_SUFFIX = ".tmp"  # a package being written: ``.<name>.<random>.tmp`` beside it
PRE_AUDIT_CSV = "疑点清单.csv"
PRE_AUDIT_HEADER = [
    "申报序号", "表名", "疑点代码", "级别", "可否挑过", "疑点对象", "字段", "疑点描述", "处理建议",
]  # fmt: skip


class _SaltedEncrypter(AESZipEncrypter):  # type: ignore[misc]
    """AES-256 with a given salt instead of a random one."""

    def __init__(self, pwd: bytes, salt: bytes) -> None:
        super().__init__(pwd=pwd, nbits=256)
        self.salt = salt
        material = PBKDF2(
            pwd,  # type: ignore[arg-type]
            salt,
            count=1000,
            dkLen=2 * KEY_BYTES + 2,
        )
        self.encpwdverify = material[2 * KEY_BYTES :]
        self.encrypter = AES.new(
            material[:KEY_BYTES], AES.MODE_CTR, counter=Counter.new(nbits=128, little_endian=True)
        )
        self.hmac = HMAC.new(material[KEY_BYTES : 2 * KEY_BYTES], digestmod=SHA1)


class _DeterministicZip(pyzipper.AESZipFile):  # type: ignore[misc]
    salt = b""

    def get_encrypter(self) -> _SaltedEncrypter:
        return _SaltedEncrypter(self.pwd, self.salt)


def csv_bytes(header: list[str], rows: Iterable[list[str]]) -> bytes:
    """GB18030, no BOM, CRLF, RFC 4180 quoting."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(CSV_ENCODING, errors="replace")


def write_feedback_zip(
    path: Path,
    *,
    key: str,
    key_id: str,
    kind: str,
    taxpayer_id: str,
    created_at: str,
    payload: dict[str, Any],
    csv_name: str,
    csv_header: list[str],
    csv_rows: Iterable[list[str]],
) -> Path:
    """Write the encrypted feedback package to ``path`` atomically (temp + fsync + rename)."""
    path = Path(path)
    password = key.encode("utf-8")
    stamp = datetime.fromisoformat(created_at)
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    entries = [
        ("feedback.json", json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")),
        (csv_name, csv_bytes(csv_header, csv_rows)),
    ]
    comment = {"key_id": key_id, "kind": kind, "enterprise": taxpayer_id, "created_at": created_at}
    tmp = temp_name(path)  # writers may race: each has its own
    with _DeterministicZip(tmp, "w", compression=zipfile.ZIP_DEFLATED,
                           encryption=pyzipper.WZ_AES) as zf:  # fmt: skip
        zf.setpassword(password)
        zf.comment = json.dumps(comment, ensure_ascii=False).encode("utf-8")
        for i, (name, data) in enumerate(entries):
            if i:
                zf.fp.flush()
                fault_pause("feedback")  # fault-injection tests: a kill lands here
            zf.salt = hmac.new(password, name.encode() + data, hashlib.sha256).digest()[:SALT_BYTES]
            info = zf.zipinfo_cls(name, date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.flag_bits |= 0x800  # UTF-8 names
            zf.writestr(info, data)
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def temp_name(path: Path) -> Path:
    """Where a package for ``path`` is written before it is renamed into place."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")


def remove_temp_files(folder: Path) -> int:
    """Remove packages a crash left half written in ``folder``; returns how many."""
    removed = 0
    for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def pre_audit_payload(
    enterprise: dict[str, str], declaration: dict[str, Any], doubts: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[list[str]]]:  # fmt: skip
    """feedback.json and 疑点清单.csv rows of a 预审核反馈 (package-format §5)."""
    payload = {
        "kind": "pre_audit",
        "enterprise": enterprise,
        "declaration": {k: declaration[k] for k in ("id", "business_code", "period", "batch")},
        "result": declaration["result"],
        "reject_code": declaration["reject_code"],
        "reject_text": declaration["reject_text"],
        "doubts": doubts,
        "amounts": declaration["amounts"],
        "rows": [],
    }
    rows = [
        [d["seq"] or "", d["table"], d["code"], d["level"], "是" if d["passable"] else "否",
         d["object"], d["field"], d["message"], d["hint"]]
        for d in doubts
    ]  # fmt: skip
    return payload, rows
