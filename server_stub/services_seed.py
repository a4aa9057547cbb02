"""Demo data of the services half (protocol §10): notices in every category, the 下载专区.

Guides are files (content/guides). ``seed`` runs once, in the first-start transaction.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from server_stub import annual, clock
from server_stub.downloads import MANUAL_PATH, SOFTWARE_NAME, add_download
from server_stub.notices import add_notice
from server_stub.ratelib import RATE_LIBRARY_VERSION

SOFTWARE_VERSION = "2.0.0"  # what the package generator writes by default: not 过旧
SAMPLE_ENTERPRISES = ("91110108MA01HC7K1M", "91110105MA02YH3Q27")

_ANNOUNCEMENTS = (
    (
        "申报通知",
        "关于{month}月征期出口退（免）税申报的通知",
        "本月申报期截止日为{end}。请各出口企业合理安排申报时间，尽量避开申报期最后三天的高峰；"
        "免抵退税企业请先完成当期增值税纳税申报，再进行免抵退税申报。",
    ),
    (
        "日常通知",
        "出口退税综合服务平台系统维护通知",
        "平台将于本周六22:00至次日06:00进行系统维护，期间暂停预申报、正式申报和反馈下载服务。"
        "已排队的预申报数据不受影响，维护结束后按原排位继续审核。",
    ),
    (
        "政策通知",
        "关于调整部分产品出口退税率的公告解读",
        "自2024年12月1日起，取消部分铝材、铜材和化学改性动植物油脂出口退税，"
        "部分光伏、电池、非金属矿物制品出口退税率由13%下调至9%。退税率按出口日期适用，"
        "请在“出口退税率查询”中按出口日期核对。",
    ),
    (
        "其他",
        "出口退税咨询服务热线",
        "如在使用平台时遇到问题，可先查阅“退税指南”，或咨询主管税务机关；"
        "服务热线 010-63911568（工作日 9:00—17:00）。",
    ),
)

_DAILY = (
    (
        "出口退（免）税备案事项办结",
        "您单位的出口退（免）税备案已办结，可以开始申报出口退（免）税。",
    ),
    ("出口退（免）税变更事项办结", "您单位申请的出口退（免）税备案变更（联系电话）已办结。"),
)


def seed(conn: sqlite3.Connection, now: datetime) -> None:
    """Notices in every category and the 下载专区 files (made on first request)."""
    from server_stub.calendar import period_end

    def at(days_ago: float) -> str:
        return clock.iso(now - timedelta(days=days_ago))

    end = period_end(now.year, now.month)
    for i, (sub, title, body) in enumerate(_ANNOUNCEMENTS):
        add_notice(
            conn,
            taxpayer_id=None,
            category="announcement",
            subcategory=sub,
            title=title.format(month=now.month),
            body=body.format(end=f"{end.month}月{end.day}日"),
            published_at=at(1 + 9 * i),
        )
    add_notice(
        conn,
        taxpayer_id=None,
        category="policy",
        subcategory="退税率文库升级",
        title=f"出口退税审核系统升级退税率文库（{RATE_LIBRARY_VERSION}）",
        body=(
            f"出口退税率文库已升级到{RATE_LIBRARY_VERSION}版本。请在申报系统中更新退税率文库后"
            "再生成申报数据，避免出现退税率不符的疑点。"
        ),
        published_at=at(40),
    )
    enterprises = conn.execute("SELECT taxpayer_id FROM enterprises ORDER BY taxpayer_id")
    for (taxpayer_id,) in enterprises.fetchall():
        for j, (title, body) in enumerate(_DAILY):
            add_notice(
                conn,
                taxpayer_id=taxpayer_id,
                category="daily",
                subcategory=title,
                title=title,
                body=body,
                published_at=at(200 - 60 * j),
            )
        annual.refresh(conn, taxpayer_id, on=now.date())

    add_download(
        conn, name=f"{SOFTWARE_NAME}（生产企业、外贸企业通用版）",
        version=SOFTWARE_VERSION, kind="declaration_software", published_at=at(60),
    )  # fmt: skip
    add_download(
        conn, name="出口退税综合服务平台用户操作手册", version="V2.0",
        kind="manual", published_at=at(90),
    )  # fmt: skip
    add_download(
        conn, name=f"出口退税率文库（{RATE_LIBRARY_VERSION}，NDJSON）",
        version=RATE_LIBRARY_VERSION, kind="rate_library", published_at=at(40),
    )  # fmt: skip
    for taxpayer_id in SAMPLE_ENTERPRISES:
        add_download(
            conn, name="申报数据包样例（" + _sample_title(conn, taxpayer_id) + "）",
            version=_last_month(now), kind="sample_package", published_at=at(5),
            recipe=json.dumps({"taxpayer_id": taxpayer_id}),
        )  # fmt: skip


def _last_month(now: datetime) -> str:
    first = now.replace(day=1) - timedelta(days=1)
    return first.strftime("%Y%m")


def _sample_title(conn: sqlite3.Connection, taxpayer_id: str) -> str:
    row = conn.execute(
        "SELECT name, kind FROM enterprises WHERE taxpayer_id = ?", (taxpayer_id,)
    ).fetchone()
    return f"{row[0]}，{'免抵退税' if row[1] == 'manufacturer' else '免退税'}"


# -- the files of the 下载专区, made on first request ---------------------------------------


def _software_notes(
    conn: sqlite3.Connection, version: str, recipe: dict[str, Any]
) -> tuple[str, bytes]:
    text = (
        f"{SOFTWARE_NAME} {version} 版本说明\n\n"
        "适用：生产企业、外贸企业。\n\n"
        "一、更新内容\n"
        "1. 申报数据包格式 2.0（manifest.xml + 各申报表 XML），支持 GB18030 与 UTF-8 编码。\n"
        f"2. 内置出口退税率文库 {RATE_LIBRARY_VERSION}。\n"
        "3. 支持数电票（20位发票号码）的进货凭证录入。\n"
        "4. 生成数据包前按平台预审核规则自检，提示疑点所在的申报序号和字段。\n\n"
        "二、升级说明\n"
        "用旧版本生成的数据包在预审核时会提示“申报系统版本过低”（可挑过）。"
        "请升级后重新生成数据包。\n"
    )
    return f"{SOFTWARE_NAME}_{version}_版本说明.txt", text.encode("utf-8")


def _manual(conn: sqlite3.Connection, version: str, recipe: dict[str, Any]) -> tuple[str, bytes]:
    return f"出口退税综合服务平台用户操作手册_{version}.txt", MANUAL_PATH.read_bytes()


def _rate_library(
    conn: sqlite3.Connection, version: str, recipe: dict[str, Any]
) -> tuple[str, bytes]:
    from server_stub.api.routes.rates import export_cache

    current = conn.execute("SELECT version FROM rate_meta").fetchone()[0]
    if current != version:
        raise ValueError(f"文库{version}已被{current}取代")
    _, chunks = export_cache.get(conn)
    return f"出口退税率文库_{version}.ndjson", b"".join(chunks)


def _sample_package(
    conn: sqlite3.Connection, version: str, recipe: dict[str, Any]
) -> tuple[str, bytes]:
    from server_stub.samples import sample_package

    return sample_package(conn, str(recipe["taxpayer_id"]), version)


FILE_MAKERS = {
    "declaration_software": _software_notes,
    "manual": _manual,
    "rate_library": _rate_library,
    "sample_package": _sample_package,
}
