"""Every option of the bundled platform, declared once (protocol §10).

Each field is a command-line option (``--audit-workers``) and an environment variable
(``TUISHUI_STUB_AUDIT_WORKERS``); the command line wins.

The ``fault_delay_*`` settings exist for the fault-injection tests (tests/faults): they
hold a file half written for that many seconds, so a ``kill -9`` lands inside the write
(``TUISHUI_STUB_FAULT_DELAY_FEEDBACK`` for feedback packages, ``…_DOCUMENT`` for 文书
PDFs). Left at 0 they cost nothing.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import platformdirs

ENV_PREFIX = "TUISHUI_STUB_"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("tuishui-stub", appauthor=False))


@dataclass
class Settings:
    host: str = field(default="127.0.0.1", metadata={"help": "监听地址"})
    port: int = field(default=8765, metadata={"help": "监听端口（0 = 任选空闲端口）"})
    data_dir: Path = field(
        default_factory=lambda: default_data_dir(),
        metadata={"help": "数据目录（SQLite 与文件），默认在用户数据目录下"},
    )
    audit_workers: int = field(default=2, metadata={"help": "审核工作进程数（0 = 只排队不审核）"})
    audit_delay: float = field(
        default=0.0, metadata={"help": "每个审核至少耗时的秒数（演示排位用）"}
    )
    accept_after: float = field(
        default=30.0, metadata={"help": "确认申报后多少秒自动受理（0 = 从不，留给管理命令）"}
    )
    approve_after: float = field(
        default=120.0, metadata={"help": "受理后多少秒自动审批（0 = 从不）"}
    )
    assemble_delay: float = field(default=5.0, metadata={"help": "反馈下载每覆盖一个月的组装秒数"})
    max_upload_mb: int = field(default=100, metadata={"help": "申报数据包上传上限（MiB）"})
    login_rate: int = field(default=300, metadata={"help": "每个客户端地址每分钟最多登录次数"})
    now: datetime | None = field(
        default=None, metadata={"help": "模拟时钟的起点（ISO 时间），时钟从此继续走"}
    )
    exit_with_stdin: bool = field(
        default=False,
        metadata={"help": "标准输入关闭时退出（桌面客户端用：客户端意外退出时平台随之退出）"},
    )
    fault_delay_feedback: float = field(
        default=0.0, metadata={"help": "仅供故障测试：反馈包写到一半时停顿的秒数"}
    )
    fault_delay_document: float = field(
        default=0.0, metadata={"help": "仅供故障测试：文书 PDF 写到一半时停顿的秒数"}
    )

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def _parse_now(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是 ISO 时间：{value}") from None


def _parse_bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"应为 1 或 0：{value}")


_TYPES: dict[str, Any] = {
    "host": str,
    "port": int,
    "data_dir": Path,
    "audit_workers": int,
    "audit_delay": float,
    "accept_after": float,
    "approve_after": float,
    "assemble_delay": float,
    "max_upload_mb": int,
    "login_rate": int,
    "now": _parse_now,
    "exit_with_stdin": _parse_bool,
    "fault_delay_feedback": float,
    "fault_delay_document": float,
}


def add_arguments(parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    """Add every setting (or ``only`` these) as ``--option``, defaulting to the env var."""
    for f in fields(Settings):
        if only is not None and f.name not in only:
            continue
        env = ENV_PREFIX + f.name.upper()
        convert = _TYPES[f.name]
        raw = os.environ.get(env)
        default = convert(raw) if raw else (None if f.default is MISSING else f.default)
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=convert,
            default=default,
            help=f"{f.metadata['help']}（环境变量 {env}）",
        )


def from_namespace(ns: argparse.Namespace) -> Settings:
    names = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in vars(ns).items() if k in names and v is not None})


# ---------------------------------------------------------------- fault injection

FaultPoint = Literal["feedback", "document"]
_fault_delays: dict[str, float] = {}


def set_fault_delays(settings: Settings) -> None:
    """Arm the half-written-file pauses of this server process (0 = none)."""
    _fault_delays["feedback"] = settings.fault_delay_feedback
    _fault_delays["document"] = settings.fault_delay_document


def fault_pause(point: FaultPoint) -> None:
    """Called with a file half written: waits the configured seconds (normally none)."""
    seconds = _fault_delays.get(point, 0.0)
    if seconds > 0:
        time.sleep(seconds)
