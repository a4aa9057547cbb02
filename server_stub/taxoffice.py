"""The simulated tax office (主管税务机关): 受理, 审核/审批, 审核不通过, password resets and
enterprise states (protocol §10). Called by the admin routes and by the timers below."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from server_stub import auth, clock, db
from server_stub import declarations as decls
from server_stub.api.errors import ApiError
from server_stub.changes import record_change
from server_stub.notices import add_notice
from server_stub.settings import Settings

log = logging.getLogger(__name__)

STATES = ("normal", "suspended", "filing_withdrawn", "waived", "exempt_choice", "tax_choice",
          "not_filed")  # fmt: skip
TICK = 1.0


def _period_text(period: str) -> str:
    return f"{period[:4]}年{int(period[4:])}月"


def _row(conn: sqlite3.Connection, decl_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM declarations WHERE id = ? AND stage = 'formal'", (decl_id,)
    ).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", "该正式申报不存在。")
    return row


def _require(row: sqlite3.Row, *states: str) -> None:
    if row["status"] not in states:
        names = "、".join(decls.STATUS_TEXT[s] for s in states)
        raise ApiError(
            409, "INVALID_STATE",
            f"该申报当前为“{decls.STATUS_TEXT[row['status']]}”，只有“{names}”的申报可以办理此操作。",
        )  # fmt: skip


def _refund(row: sqlite3.Row) -> str:
    return str(row["declared_refund"] or "0.00")


def accept(conn: sqlite3.Connection, decl_id: str) -> None:
    """受理 a confirmed formal declaration: 办理进度 notice."""
    with db.transaction(conn):
        row = _row(conn, decl_id)
        _require(row, "confirmed")
        now = clock.now()
        conn.execute(
            "UPDATE declarations SET status = 'accepted', accepted_at = ? WHERE id = ?",
            (clock.iso(now), decl_id),
        )
        tid = row["taxpayer_id"]
        record_change(conn, tid, "declaration", decl_id)
        record_change(conn, tid, "progress", decl_id)
        add_notice(
            conn, taxpayer_id=tid, category="progress", subcategory="受理",
            title=f"{row['business_name']}（{_period_text(row['period'])}）已受理",
            body=(
                f"您单位报送的{row['business_name']}（所属期{row['period']}，批次{row['batch']}）"
                f"已于{now:%Y-%m-%d %H:%M:%S}受理（受理时间），受理退税额{_refund(row)}元。"
                "税务机关将进行审核、审批，请留意办理进度。"
            ),
        )  # fmt: skip


def approve(
    conn: sqlite3.Connection, data_dir: Path, decl_id: str, refused_seqs: list[str] | None = None
) -> None:
    """审核通过 and 审批: lines approved (default: those without a not-passable doubt)."""
    with db.transaction(conn):
        row = _row(conn, decl_id)
        _require(row, "accepted")
        tid, now = row["taxpayer_id"], clock.now()
        refused = {s.lstrip("0") for s in refused_seqs or ()}
        lines = conn.execute(
            "SELECT seq, blocking, declared_refund FROM declaration_lines WHERE declaration_id = ?",
            (decl_id,),
        ).fetchall()
        ok = [ln for ln in lines if not ln["blocking"] and ln["seq"].lstrip("0") not in refused]
        conn.executemany(
            "UPDATE declaration_lines SET approved = ?, approved_refund = ?"
            " WHERE declaration_id = ? AND seq = ?",
            [
                (1, ln["declared_refund"], decl_id, ln["seq"]) if ln in ok
                else (0, "0.00", decl_id, ln["seq"])
                for ln in lines
            ],
        )  # fmt: skip
        declared = Decimal(_refund(row))
        line_total = sum((Decimal(ln["declared_refund"]) for ln in lines), Decimal(0))
        ok_total = sum((Decimal(ln["declared_refund"]) for ln in ok), Decimal(0))
        approved = declared if len(ok) == len(lines) or not line_total else (
            declared * ok_total / line_total
        ).quantize(Decimal("0.01"), ROUND_HALF_UP)  # fmt: skip
        conn.execute(
            "UPDATE declarations SET status = 'approved', approved_at = ?, approved_refund = ?"
            " WHERE id = ?",
            (clock.iso(now), f"{approved:.2f}", decl_id),
        )
        record_change(conn, tid, "declaration", decl_id)
        record_change(conn, tid, "progress", decl_id)
        period = _period_text(row["period"])
        add_notice(
            conn, taxpayer_id=tid, category="progress", subcategory="审核通过",
            title=f"{row['business_name']}（{period}）审核通过",
            body=(
                f"您单位{row['business_name']}（所属期{row['period']}，批次{row['batch']}）"
                f"已审核通过，审核通过退税额{approved:.2f}元。"
            ),
        )  # fmt: skip
        add_notice(
            conn, taxpayer_id=tid, category="progress", subcategory="审批",
            title=f"{row['business_name']}（{period}）已审批",
            body=(
                f"您单位{row['business_name']}（所属期{row['period']}，批次{row['batch']}）已审批："
                f"审批通过{len(ok)}条，不予审批{len(lines) - len(ok)}条。"
                "明细可在“反馈下载”中下载审核结果反馈查看；退库资金将由国库办理。"
            ),
        )  # fmt: skip
        code = row["business_code"]
        if code == "A0102001":
            _apply_filing_change(conn, data_dir, row)
        elif code == "A0410002":
            _apply_withdrawal(conn, data_dir, row)
        elif code == "A0409004":
            _apply_waiver(conn, data_dir, row)


def refuse(conn: sqlite3.Connection, decl_id: str, reason: str) -> None:
    """审核不通过."""
    with db.transaction(conn):
        row = _row(conn, decl_id)
        _require(row, "confirmed", "accepted")
        tid = row["taxpayer_id"]
        conn.execute(
            "UPDATE declarations SET status = 'refused', refused_at = ?, refuse_reason = ?"
            " WHERE id = ?",
            (clock.iso(), reason, decl_id),
        )
        conn.execute(
            "UPDATE declaration_lines SET approved = 0, approved_refund = '0.00'"
            " WHERE declaration_id = ?",
            (decl_id,),
        )
        record_change(conn, tid, "declaration", decl_id)
        record_change(conn, tid, "progress", decl_id)
        add_notice(
            conn, taxpayer_id=tid, category="progress", subcategory="审核不通过",
            title=f"{row['business_name']}（{_period_text(row['period'])}）审核不通过",
            body=(
                f"您单位{row['business_name']}（所属期{row['period']}，批次{row['batch']}）"
                f"审核不通过。原因：{reason}。请核实后重新申报，或联系主管税务机关。"
            ),
        )  # fmt: skip


_FILING_FIELDS = {
    "退税开户银行账号": "bank_account",
    "银行账号": "bank_account",
    "退税开户银行": "bank_name",
    "联系电话": "contact_phone",
    "联系人": "contact_name",
}


def _apply_filing_change(conn: sqlite3.Connection, data_dir: Path, row: sqlite3.Row) -> None:
    """An approved 备案变更 (A0102001) takes effect; a new bank account carries the
    initial password with it while the initial one is still in use."""
    tid = row["taxpayer_id"]
    pkg = decls.stored_package(data_dir, row)
    changed: list[str] = []
    bank = False
    for values in pkg.rows("zb_babg"):
        column = _FILING_FIELDS.get(values["bgxm"])
        if column is None or not values["bgh"]:
            continue
        conn.execute(f"UPDATE enterprises SET {column} = ? WHERE taxpayer_id = ?",
                     (values["bgh"], tid))  # fmt: skip
        changed.append(values["bgxm"])
        if column == "bank_account":
            bank = True
            must_change = conn.execute(
                "SELECT must_change_password FROM enterprises WHERE taxpayer_id = ?", (tid,)
            ).fetchone()[0]
            if must_change:
                conn.execute(
                    "UPDATE enterprises SET password_hash = ? WHERE taxpayer_id = ?",
                    (auth.hash_password(auth.initial_password(values["bgh"])), tid),
                )
    record_change(conn, tid, "enterprise", tid)
    title = "银行账号变更事项办结" if bank else "变更事项办结"
    body = f"您单位申请的出口退(免)税备案变更（{'、'.join(changed) or '无有效变更项目'}）已办结。"
    if bank:
        body += "今后税务机关重置密码时，初始密码为新退税账号的后8位。"
    add_notice(conn, taxpayer_id=tid, category="daily", subcategory=title, title=title, body=body)


def _apply_withdrawal(conn: sqlite3.Connection, data_dir: Path, row: sqlite3.Row) -> None:
    """An approved 企业撤回申报数据申请 (A0410002) withdraws the declarations it names."""
    tid = row["taxpayer_id"]
    pkg = decls.stored_package(data_dir, row)
    for values in pkg.rows("zb_chsb"):
        target: sqlite3.Row | None = conn.execute(
            "SELECT * FROM declarations WHERE taxpayer_id = ? AND stage = 'formal'"
            " AND business_code = ? AND period = ? AND batch = ?"
            " AND status NOT IN ('withdrawn', 'refused', 'rejected') AND id != ?",
            (tid, values["chsbywbm"], values["chssq"], values["chsbpc"], row["id"]),
        ).fetchone()
        if target is None:
            continue
        decls.withdraw(conn, target)
        record_change(conn, tid, "progress", target["id"])
        add_notice(
            conn, taxpayer_id=tid, category="daily", subcategory="撤回申报数据办结",
            title="撤回申报数据事项办结",
            body=(
                f"您单位申请撤回的{target['business_name']}（所属期{target['period']}，"
                f"批次{target['batch']}）已撤回，可修正后重新申报。"
            ),
        )  # fmt: skip


def _apply_waiver(conn: sqlite3.Connection, data_dir: Path, row: sqlite3.Row) -> None:
    """An approved 放弃出口退(免)税声明 (A0409004): from its 起始日期 on, declarations are
    rejected (16)."""
    tid = row["taxpayer_id"]
    pkg = decls.stored_package(data_dir, row)
    periods = json.loads(
        conn.execute(
            "SELECT waived_periods FROM enterprises WHERE taxpayer_id = ?", (tid,)
        ).fetchone()[0]
    )
    starts = [v["qsrq"] for v in pkg.rows("zb_fqts") if v["qsrq"]]
    for start in starts:
        periods.append([f"{start[:4]}-{start[4:6]}-{start[6:]}", None])
    conn.execute(
        "UPDATE enterprises SET waived_periods = ? WHERE taxpayer_id = ?",
        (json.dumps(periods), tid),
    )
    record_change(conn, tid, "enterprise", tid)
    add_notice(
        conn, taxpayer_id=tid, category="daily", subcategory="放弃退(免)税事项办结",
        title="放弃出口退(免)税声明事项办结",
        body=f"您单位自{'、'.join(starts)}起放弃出口退(免)税的声明已办结，此后所属期的退税申报将不予受理。",
    )  # fmt: skip


def reset_password(conn: sqlite3.Connection, sessions: auth.Sessions, taxpayer_id: str) -> None:
    """Back to the bank-account rule, must change, lock cleared, every session ended."""
    with db.transaction(conn):
        row = conn.execute(
            "SELECT bank_account FROM enterprises WHERE taxpayer_id = ?", (taxpayer_id,)
        ).fetchone()
        if row is None:
            raise ApiError(404, "NOT_FOUND", "该企业不存在。")
        conn.execute(
            "UPDATE enterprises SET password_hash = ?, must_change_password = 1"
            " WHERE taxpayer_id = ?",
            (auth.hash_password(auth.initial_password(row[0])), taxpayer_id),
        )
        auth.clear_failures(conn, f"ent:{taxpayer_id}")
        sessions.end_all(conn, taxpayer_id)
        record_change(conn, taxpayer_id, "enterprise", taxpayer_id)


def set_state(conn: sqlite3.Connection, taxpayer_id: str, state: str) -> None:
    with db.transaction(conn):
        cur = conn.execute(
            "UPDATE enterprises SET state = ? WHERE taxpayer_id = ?", (state, taxpayer_id)
        )
        if cur.rowcount == 0:
            raise ApiError(404, "NOT_FOUND", "该企业不存在。")
        record_change(conn, taxpayer_id, "enterprise", taxpayer_id)


def due(conn: sqlite3.Connection, settings: Settings) -> list[tuple[str, str]]:
    """(action, declaration id) the timers owe now."""
    now = clock.now()
    out: list[tuple[str, str]] = []
    if settings.accept_after > 0:
        cutoff = clock.iso(now - timedelta(seconds=settings.accept_after))
        out += [("accept", r[0]) for r in conn.execute(
            "SELECT id FROM declarations WHERE status = 'confirmed' AND confirmed_at <= ?",
            (cutoff,))]  # fmt: skip
    if settings.approve_after > 0:
        cutoff = clock.iso(now - timedelta(seconds=settings.approve_after))
        out += [("approve", r[0]) for r in conn.execute(
            "SELECT id FROM declarations WHERE status = 'accepted' AND accepted_at <= ?",
            (cutoff,))]  # fmt: skip
    return out


class Timers:
    """Runs --accept-after / --approve-after: state in the database, so restarts keep it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.accept_after > 0 or self.settings.approve_after > 0:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _step(self) -> None:
        conn = db.connect(self.settings.data_dir)
        try:
            for action, decl_id in due(conn, self.settings):
                try:
                    if action == "accept":
                        accept(conn, decl_id)
                    else:
                        approve(conn, Path(self.settings.data_dir), decl_id)
                except ApiError:
                    continue  # changed meanwhile (e.g. withdrawn): nothing owed any more
        finally:
            conn.close()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self._step)
            except Exception:
                log.exception("tax office timer step failed")
            await asyncio.sleep(TICK)
