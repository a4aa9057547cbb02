"""Multipart uploads streamed straight to a file (never whole in memory).

The file part is written in chunks to a temporary file beside its final place while its
size and SHA-256 are computed; small text fields are kept in memory.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from server_stub.api.errors import ApiError

MAX_FIELD = 4096


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    file_name: str = ""
    path: Path | None = None  # the temporary file, None when no file part came
    size: int = 0
    sha256: str = ""

    def commit_to(self, target: Path) -> None:
        """fsync the file and rename it to ``target`` (blocking: call it off the event loop)."""
        assert self.path is not None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.path.replace(target)

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _bad_form(detail: str) -> ApiError:
    return ApiError(422, "VALIDATION", detail, errors=[{"field": "file", "message": detail}])


async def receive(
    request: Request, directory: Path, file_field: str, max_bytes: int, too_large: ApiError
) -> Upload:
    """Read a multipart/form-data body; the ``file_field`` part goes to ``directory``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise too_large
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise _bad_form("请以 multipart/form-data 方式上传文件。")

    upload = Upload()
    directory.mkdir(parents=True, exist_ok=True)
    state: dict[str, object] = {}
    out: list[IO[bytes]] = []
    digest = hashlib.sha256()
    headers: dict[str, bytes] = {}
    current_header: list[bytes] = [b"", b""]
    errors: list[ApiError] = []

    def on_part_begin() -> None:
        headers.clear()
        state.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        current_header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        current_header[1] += data[start:end]

    def on_header_end() -> None:
        headers[current_header[0].decode("latin-1").lower()] = current_header[1]
        current_header[0] = current_header[1] = b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(headers.get("content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if name == file_field and b"filename" in disp and upload.path is None:
            raw = disp[b"filename"].decode("utf-8", "replace")
            upload.file_name = Path(raw.replace("\\", "/")).name[:200] or "upload.bin"
            upload.path = directory / f".upload-{uuid.uuid4().hex}.part"
            out.append(upload.path.open("wb"))
            state["file"] = True
        else:
            state["value"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if errors:
            return
        chunk = data[start:end]
        if state.get("file"):
            upload.size += len(chunk)
            if upload.size > max_bytes:
                errors.append(too_large)
                return
            digest.update(chunk)
            out[-1].write(chunk)
        else:
            value = state["value"]
            assert isinstance(value, bytearray)
            value += chunk
            if len(value) > MAX_FIELD:
                errors.append(_bad_form("表单字段过长。"))

    def on_part_end() -> None:
        value = state.get("value")
        if isinstance(value, bytearray):
            upload.fields[str(state["name"])] = value.decode("utf-8", "replace")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if errors:
                raise errors[0]
        parser.finalize()
        if errors:
            raise errors[0]
    except ApiError:
        _close(out)
        upload.discard()
        raise
    except Exception:
        _close(out)
        upload.discard()
        raise _bad_form("上传的表单数据不完整或格式不正确，请重新上传。") from None
    _close(out)
    upload.sha256 = digest.hexdigest()
    return upload


def _close(out: list[IO[bytes]]) -> None:
    for fh in out:
        fh.close()
