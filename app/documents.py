"""PDFs the platform issues (文书, 受理通知): verified before they are filed, with sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.errors import LocalError

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (packages can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_pdf(path: Path, taxpayer_id: str, expected_sha256: str | None = None) -> str:
    """Check that ``path`` is a PDF with pages that names ``taxpayer_id``; return its sha256.

    Raises :class:`LocalError` (and removes nothing: the caller decides) when it is not.
    """
    digest = file_sha256(path)
    if expected_sha256 and digest.lower() != expected_sha256.lower():
        raise LocalError("下载的文书与平台登记的校验值不一致，文件可能不完整，请重新下载。")
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        text = "".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, OSError, ValueError) as exc:
        raise LocalError("下载的文书无法打开，文件可能已损坏，请重新下载。") from exc
    if not reader.pages:
        raise LocalError("下载的文书没有内容，请重新下载；如仍如此，请联系主管税务机关。")
    if taxpayer_id not in "".join(text.split()):
        raise LocalError(
            f"下载的文书中找不到本企业的纳税人识别号（{taxpayer_id}），"
            "可能不是本企业的文书，已停止保存，请联系主管税务机关。"
        )
    return digest
