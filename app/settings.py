"""User settings (设置): each declared once — name, type, default and 中文 description.

Stored as JSON in ``AppPaths.settings_file``; unknown keys are dropped and a value of the
wrong type falls back to its default, so an old or hand-edited file never stops the app.
"""

from __future__ import annotations

import json
import logging
from dataclasses import Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from app.paths import AppPaths, atomic_write_text

log = logging.getLogger(__name__)


def _doc(description: str) -> dict[str, str]:
    return {"doc": description}


@dataclass
class Settings:
    """All settings. ``Settings.load(paths)`` reads them, ``save()`` writes them back."""

    server_url: str | None = field(
        default=None, metadata=_doc("平台地址；留空表示使用内置演示平台")
    )
    notifications: bool = field(
        default=True, metadata=_doc("审核完成、反馈就绪等事项在系统托盘提示")
    )
    last_account_type: str = field(default="credit_code", metadata=_doc("上次登录使用的账号类型"))
    last_account: str = field(default="", metadata=_doc("上次登录的账号"))
    accounts: list[dict[str, str]] = field(
        default_factory=list,
        metadata=_doc("登录过的企业（账号类型、账号、纳税人识别号、名称、平台地址；不含密码）"),
    )
    request_timeout: float = field(default=30.0, metadata=_doc("与平台通信的超时时间（秒）"))
    window_geometry: str = field(default="", metadata=_doc("主窗口位置和大小（界面自动保存）"))
    window_state: str = field(
        default="", metadata=_doc("主窗口工具栏和停靠窗口状态（界面自动保存）")
    )
    table_states: dict[str, str] = field(
        default_factory=dict, metadata=_doc("各表格的列宽和排序（界面自动保存）")
    )

    path: Path | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, paths: AppPaths) -> Settings:
        settings = cls(path=paths.settings_file)
        try:
            raw = json.loads(paths.settings_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return settings
        except (OSError, ValueError) as exc:
            log.warning("settings unreadable, using defaults: %s", exc)
            return settings
        if not isinstance(raw, dict):
            return settings
        hints = get_type_hints(cls)
        for f in SETTINGS:
            if f.name in raw and _fits(raw[f.name], hints[f.name]):
                setattr(settings, f.name, raw[f.name])
        return settings

    def save(self) -> None:
        if self.path is None:
            raise ValueError("settings were not loaded from a file")
        values = {k: v for k, v in asdict(self).items() if k != "path"}
        atomic_write_text(self.path, json.dumps(values, ensure_ascii=False, indent=2))


def _fits(value: Any, hint: Any) -> bool:
    text = str(hint)
    if value is None:
        return "None" in text
    if hint is float or "float" in text:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is bool:
        return isinstance(value, bool)
    if "list" in text:
        return isinstance(value, list)
    if "dict" in text:
        return isinstance(value, dict)
    return isinstance(value, str)


SETTINGS: tuple[Field[Any], ...] = tuple(f for f in fields(Settings) if f.name != "path")
"""Every setting: ``f.name``, ``f.type``, the default and ``f.metadata['doc']`` (中文)."""
