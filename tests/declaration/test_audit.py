from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from app.declaration.audit import REJECT_CODES, RULES, AuditResult, LineResult

from .helpers import mdt_row
from .refdata import MANUFACTURER, TRADER, audit, customs, entry, invoice, reference

PACKAGE_FORMAT_CODES = {
    "BGD_FORMAT", "BGD_WDZXX", "BGD_SPDM", "BGD_CKRQ", "BGD_USD_RANGE", "BGD_CKSL_OVER",
    "BGD_REPEAT", "BGD_HISTORY", "SPDM_NOT_IN_LIB", "TSL_MISMATCH", "ZSSL_MISMATCH",
    "DW_MISMATCH", "CKRQ_EXPIRED", "CKRQ_AFTER_SSQ", "RMB_CALC", "JLJG_NO_SCH", "FS_NO_HZCJ",
    "RQ_FUTURE", "FP_NOT_FOUND", "FP_SELLER", "FP_AMOUNT_OVER", "FP_RATE_LOW", "TSE_CALC",
    "GLH_ORPHAN", "SL_EXCEEDS_JH", "VAT_NOT_FILED", "HZ_QMLDSE_DIFF", "SCRJ_OLD", "WTF_NSRSBH",
}  # fmt: skip


def codes(result: AuditResult) -> list[tuple[str | None, str]]:
    return [(d.seq, d.code) for d in result.doubts]


def mdt(
    tmp: Path, rows: list[dict[str, str]], lines: list | None = None, **ref_kw: object
) -> AuditResult:  # type: ignore[type-arg]
    lines = [customs(i) for i in range(1, 4)] if lines is None else lines
    return audit(tmp, {"mdt_ckmx": rows}, reference(lines, **ref_kw))


def test_rule_table_is_complete() -> None:
    assert {r.code for r in RULES} == PACKAGE_FORMAT_CODES
    for r in RULES:
        assert r.passable == (r.level == "I") and r.message and r.hint and r.tables
    assert "等待" in next(r for r in RULES if r.code == "BGD_WDZXX").hint
    assert "等待" in next(r for r in RULES if r.code == "FP_NOT_FOUND").hint


def test_clean_package_amounts_and_lines(tmp_path: Path) -> None:
    lines: list[LineResult] = []
    rows = [mdt_row(1), mdt_row(2)]
    res = audit(
        tmp_path, {"mdt_ckmx": rows}, reference([customs(1), customs(2)]), on_line=lines.append
    )
    assert (res.result, res.doubts, res.record_count) == (0, [], 2)
    assert res.doubt_counts == {"total": 0, "blocking": 0, "overridable": 0}
    assert res.amounts == {
        "fob_cny": "14200.00", "mdt_amount": "1846.00", "not_exempt_amount": "0.00",
        "closing_credit": "41600.00", "refund": "1846.00", "exempt_offset": "0.00",
    }  # fmt: skip
    assert [(ln.seq, ln.entry_no, ln.item_no, ln.line_refund, ln.blocking) for ln in lines] == [
        ("0001", entry(1), 1, D("923.00"), False),
        ("0002", entry(2), 1, D("923.00"), False),
    ]


def test_worked_example_to_the_cent(tmp_path: Path) -> None:
    row = mdt_row(
        1,
        cksp_dm="8501100000",
        mylaj="100000.00",
        rmblaj="710000.00",
        zssl="0.13",
        tsl="0.09",
        cksl="10",
    )
    line = customs(1, commodity_code="8501100000", fob_usd=D("100000.00"))
    res = mdt(tmp_path, [row], [line])
    assert res.result == 0
    assert res.amounts == {
        "fob_cny": "710000.00", "mdt_amount": "63900.00", "not_exempt_amount": "28400.00",
        "closing_credit": "41600.00", "refund": "41600.00", "exempt_offset": "22300.00",
    }  # fmt: skip
    # credit larger than 免抵退税额: everything refunded; credit used by other formal ones counts
    res = mdt(
        tmp_path, [row], [line], vat_returns={"202610": D("90000.00")}, credit_used=D("20000.00")
    )
    assert res.amounts is not None
    assert (res.amounts["closing_credit"], res.amounts["refund"], res.amounts["exempt_offset"]) == (
        "70000.00",
        "63900.00",
        "0.00",
    )


def test_feed_processing_line_and_blocking_rows_excluded(tmp_path: Path) -> None:
    rows = [
        mdt_row(1, cksp_dm="8501100000", tsl="0.09", jljgszch="C12345678901", tzhjhfpl="0.3"),
        mdt_row(2, tsl="0.09"),  # TSL_MISMATCH: not counted
    ]
    lines = [customs(1, commodity_code="8501100000", trade_mode="0615"), customs(2)]
    res = mdt(tmp_path, rows, lines)
    assert codes(res) == [("0002", "TSL_MISMATCH")] and res.result == 2
    # 7100 × 0.3 = 2130 免税购进原材料; 不得免征 = 7100×0.04 − 2130×0.04 = 284 − 85.20
    assert res.amounts is not None
    assert res.amounts["fob_cny"] == "7100.00"
    assert res.amounts["not_exempt_amount"] == "198.80"
    assert res.amounts["mdt_amount"] == "447.30"  # 639 − 191.70


# ------------------------------------------------------------------ each row rule


CASES = [
    # (id, row overrides, customs overrides, expected codes, ref overrides)
    ("format", {"ckbgdh": "110820261000000001001"}, {}, ["BGD_FORMAT"], {}),
    ("format-item", {"ckbgdh": "110820260000000001101"}, {}, ["BGD_FORMAT"], {}),
    ("wdzxx", {"ckbgdh": "110820260000000009001", "cksp_dm": "9999999999"}, {}, ["BGD_WDZXX"], {}),
    ("spdm", {"cksp_dm": "8471410000"}, {}, ["BGD_SPDM"], {}),
    ("ckrq", {"ckrq": "20261006"}, {}, ["BGD_CKRQ"], {}),
    ("usd", {"mylaj": "1050.01", "rmblaj": "7455.07"}, {}, ["BGD_USD_RANGE"], {}),
    ("usd-ok", {"mylaj": "1050.00", "rmblaj": "7455.00"}, {}, [], {}),
    (
        "usd-small",
        {"mylaj": "11.01", "rmblaj": "78.17"},
        {"fob_usd": D("10.00")},
        ["BGD_USD_RANGE"],
        {},
    ),
    ("usd-small-ok", {"mylaj": "11.00", "rmblaj": "78.10"}, {"fob_usd": D("10.00")}, [], {}),
    ("cksl", {"cksl": "7"}, {"declared_quantity_so_far": D(4)}, ["BGD_CKSL_OVER"], {}),
    ("cksl-ok", {"cksl": "6"}, {"declared_quantity_so_far": D(4)}, [], {}),
    (
        "repeat-formal",
        {},
        {},
        ["BGD_REPEAT"],
        {"declared_lines": frozenset({(entry(1), 1)}), "declared_entries": frozenset({entry(1)})},
    ),
    (
        "history",
        {},
        {},
        ["BGD_HISTORY"],
        {"declared_lines": frozenset({(entry(1), 2)}), "declared_entries": frozenset({entry(1)})},
    ),
    (
        "not-in-lib",
        {"cksp_dm": "9999999999"},
        {"commodity_code": "9999999999"},
        ["SPDM_NOT_IN_LIB"],
        {},
    ),
    (
        "lib-window",
        {"cksp_dm": "7601100000"},
        {"commodity_code": "7601100000"},
        ["SPDM_NOT_IN_LIB"],
        {},
    ),
    ("tsl", {"tsl": "0.09"}, {}, ["TSL_MISMATCH"], {}),
    ("zssl", {"zssl": "0.17"}, {}, ["ZSSL_MISMATCH"], {}),
    (
        "zssl-set-ok",
        {"cksp_dm": "8501100000", "zssl": "0.09", "tsl": "0.09"},
        {"commodity_code": "8501100000"},
        [],
        {},
    ),
    ("dw", {"hgjldwmc": "千克"}, {}, ["DW_MISMATCH"], {}),
    ("expired", {"ckrq": "20231109"}, {"export_date": date(2023, 11, 9)}, ["CKRQ_EXPIRED"], {}),
    ("not-expired", {"ckrq": "20231110"}, {"export_date": date(2023, 11, 10)}, [], {}),
    ("after-ssq", {"ckrq": "20261102"}, {"export_date": date(2026, 11, 2)}, ["CKRQ_AFTER_SSQ"], {}),
    ("rmb", {"rmblaj": "7172.00"}, {}, ["RMB_CALC"], {}),
    ("rmb-ok", {"rmblaj": "7171.00"}, {}, [], {}),
    ("rmb-no-rate", {"rmblaj": "9000.00"}, {}, [], {"exchange_rates": {}}),
    ("jljg", {}, {"trade_mode": "0615"}, ["JLJG_NO_SCH"], {}),
    ("jljg-ok", {"jljgszch": "C12345678901", "tzhjhfpl": "0.5"}, {"trade_mode": "0715"}, [], {}),
    (
        "negative",
        {"cksl": "-10", "mylaj": "-1000.00", "rmblaj": "-7100.00"},
        {},
        ["FS_NO_HZCJ"],
        {},
    ),
    (
        "hzcj",
        {"cksl": "-10", "mylaj": "-1000.00", "rmblaj": "-7100.00", "cktmsywlxdmjh": "HZCJ"},
        {},
        [],
        {"declared_lines": frozenset({(entry(1), 1)}), "declared_entries": frozenset({entry(1)})},
    ),
    (
        "future",
        {"ckrq": "20261111"},
        {"export_date": date(2026, 11, 11)},
        ["CKRQ_AFTER_SSQ", "RQ_FUTURE"],
        {},
    ),
    # redundancy: after SPDM_NOT_IN_LIB no rate rule; after BGD_WDZXX none of the e-info range
    (
        "redundant-lib",
        {"cksp_dm": "9999999999", "tsl": "0.05", "zssl": "0.17"},
        {"commodity_code": "9999999999"},
        ["SPDM_NOT_IN_LIB"],
        {},
    ),
    ("redundant-format", {"ckbgdh": "11082026000000000100A"}, {}, ["BGD_FORMAT"], {}),
]


@pytest.mark.parametrize(
    ("row_kw", "line_kw", "expected", "ref_kw"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_row_rule(
    tmp_path: Path,
    row_kw: dict[str, str],
    line_kw: dict[str, object],
    expected: list[str],
    ref_kw: dict[str, object],
) -> None:
    res = mdt(tmp_path, [mdt_row(1, **row_kw)], [customs(1, **line_kw)], **ref_kw)
    assert [c for _, c in codes(res)] == expected
    blocking = any(not d.passable for d in res.doubts)
    assert res.result == (2 if blocking else 1 if expected else 0)
    for d in res.doubts:
        assert d.seq == "0001" and d.table == "mdt_ckmx" and d.message and d.hint and d.field
    if blocking:
        assert res.amounts is not None and res.amounts["fob_cny"] == "0.00"


def test_doubt_message_and_dict(tmp_path: Path) -> None:
    res = mdt(tmp_path, [mdt_row(12345, ckbgdh="110820260000012345001")], [])
    d = res.doubts[0]
    assert d.to_dict() == {
        "seq": "12345", "table": "mdt_ckmx", "code": "BGD_WDZXX", "level": "E", "passable": False,
        "object": "出口报关单", "field": "ckbgdh", "message": "出口货物报关单号[110820260000012345001]无电子信息",
        "hint": d.hint,
    }  # fmt: skip
    assert res.doubt_counts == {"total": 1, "blocking": 1, "overridable": 0}


def test_repeat_within_package_and_hzcj_exempt(tmp_path: Path) -> None:
    rows = [
        mdt_row(1),
        mdt_row(2, ckbgdh=mdt_row(1)["ckbgdh"]),
        mdt_row(
            3,
            ckbgdh=mdt_row(1)["ckbgdh"],
            cksl="-10",
            mylaj="-1000.00",
            rmblaj="-7100.00",
            cktmsywlxdmjh="XX,HZCJ",
        ),
    ]
    res = mdt(tmp_path, rows, [customs(1)])
    assert codes(res) == [("0002", "BGD_REPEAT")]
    assert "本数据包" in res.doubts[0].message


def test_several_doubts_on_one_row_sorted_by_seq_then_rule(tmp_path: Path) -> None:
    rows = [mdt_row(2, hgjldwmc="千克", tsl="0.09", rmblaj="8000.00"), mdt_row(1, ckrq="20261006")]
    res = mdt(tmp_path, rows, [customs(1), customs(2)], current_software_version="2.1.0")
    assert codes(res) == [
        (None, "SCRJ_OLD"), ("0001", "BGD_CKRQ"), ("0002", "TSL_MISMATCH"), ("0002", "DW_MISMATCH"), ("0002", "RMB_CALC"),
    ]  # fmt: skip


# ------------------------------------------------------------------ declaration level


def test_vat_not_filed_and_hz_diff_and_scrj(tmp_path: Path) -> None:
    hz = [{"sbxh": "0002", "qmldse": "41600.01"}]
    res = audit(
        tmp_path,
        {"mdt_ckmx": [mdt_row(1)], "mdt_hz": hz},
        reference([customs(1)], current_software_version="2.0.1"),
    )
    assert codes(res) == [(None, "HZ_QMLDSE_DIFF"), (None, "SCRJ_OLD")] and res.result == 1
    assert res.doubts[0].table == "mdt_hz" and res.doubts[1].table == "manifest"
    hz = [{"sbxh": "0002", "qmldse": "41600.00"}]
    res = audit(
        tmp_path, {"mdt_ckmx": [mdt_row(1)], "mdt_hz": hz}, reference([customs(1)], vat_returns={})
    )
    assert codes(res) == [(None, "VAT_NOT_FILED")] and res.result == 2
    assert res.amounts is not None and res.amounts["refund"] == "0.00"
    res = audit(
        tmp_path,
        {"mdt_ckmx": [mdt_row(1)]},
        reference([customs(1)], current_software_version="1.9"),
    )
    assert res.result == 0


# ------------------------------------------------------------------ 外贸企业


def ck(i: int, glh: str, **kw: str) -> dict[str, str]:
    row = {
        "sbxh": f"{i:04d}", "glh": glh, "ckbgdh": f"{entry(i)}001", "ckrq": "20261005",
        "cksp_dm": "8471300000", "sbhgspmc": "笔记本电脑", "hgjldwmc": "台", "cksl": "10",
        "mylaj": "1000.00", "tsl": "0.13", "bz": "",
    }  # fmt: skip
    row.update(kw)
    return row


def jh(i: int, glh: str, no: str, **kw: str) -> dict[str, str]:
    row = {
        "sbxh": f"{i:04d}", "glh": glh, "jhpzh": f"1100262130{no}", "kprq": "20260920",
        "ghfnsrsbh": "91350100M000100Y43", "cksp_dm": "8471300000", "spmc": "笔记本电脑", "jldw": "台",
        "sl": "10", "jsje": "10000.00", "zssl": "0.13", "tsl": "0.13", "tse": "1300.00",
    }  # fmt: skip
    row.update(kw)
    return row


def mts(
    tmp: Path,
    cks: list[dict[str, str]],
    jhs: list[dict[str, str]],
    invoices: list | None = None,
    on_line=None,
    lines: list | None = None,
    **ref_kw: object,
) -> AuditResult:  # type: ignore[no-untyped-def,type-arg]
    invs = [invoice("00000001"), invoice("00000002")] if invoices is None else invoices
    lines = [customs(i) for i in range(1, 4)] if lines is None else lines
    ref = reference(lines, invs, TRADER, **ref_kw)
    return audit(tmp, {"mts_ckmx": cks, "mts_jhmx": jhs}, ref, on_line=on_line)


def test_mts_clean_amounts_with_3_percent_invoice(tmp_path: Path) -> None:
    invs = [invoice("00000001"), invoice("00000002", tax_rate=D("0.03"), tax=D("300.00"))]
    lines: list[LineResult] = []
    cks = [
        ck(1, "G1"),
        ck(2, "G2", mylaj="1000.00"),
        ck(3, "G2", mylaj="3000.00", ckbgdh=f"{entry(3)}001"),
    ]
    jhs = [jh(4, "G1", "00000001"), jh(5, "G2", "00000002", tsl="0.13", tse="300.00", sl="30")]
    clines = [customs(1), customs(2), customs(3, fob_usd=D("3000.00"))]
    res = mts(tmp_path, cks, jhs, invs, on_line=lines.append, lines=clines)
    assert codes(res) == [("0005", "FP_RATE_LOW")] and res.result == 1
    assert res.amounts == {"taxable_amount": "20000.00", "refund": "1600.00"}
    # G2's 300.00 split by 美元离岸价 1000 : 3000
    assert [(ln.seq, ln.line_refund) for ln in lines] == [
        ("0001", D("1300.00")),
        ("0002", D("75.00")),
        ("0003", D("225.00")),
    ]
    jhs[1]["tse"] = "1300.00"
    res = mts(tmp_path, cks, jhs, invs, lines=clines)
    assert codes(res) == [("0005", "FP_RATE_LOW"), ("0005", "TSE_CALC")]
    assert res.amounts == {"taxable_amount": "10000.00", "refund": "1300.00"}


MTS_CASES = [
    ("fp-not-found", {}, {"jhpzh": "110026213099999999"}, ["FP_NOT_FOUND"]),
    ("fp-seller", {}, {"ghfnsrsbh": "9144030071526726XG"}, ["FP_SELLER"]),
    ("fp-amount", {}, {"jsje": "10000.01", "tse": "1300.00"}, ["FP_AMOUNT_OVER"]),
    ("tse", {}, {"tse": "1300.02"}, ["TSE_CALC"]),
    ("tse-ok", {}, {"tse": "1300.01"}, []),
    ("sl", {"cksl": "10"}, {"sl": "9"}, ["SL_EXCEEDS_JH"]),
    ("jh-tsl", {}, {"tsl": "0.09", "tse": "900.00"}, ["TSL_MISMATCH"]),
    ("jh-future", {}, {"kprq": "20261111"}, ["RQ_FUTURE"]),
    ("jh-negative", {}, {"jsje": "-10000.00", "tse": "-1300.00"}, ["FS_NO_HZCJ"]),
    ("ck-wdzxx", {"ckbgdh": "110820260000000099001"}, {}, ["BGD_WDZXX"]),
]


@pytest.mark.parametrize(
    ("ck_kw", "jh_kw", "expected"), [c[1:] for c in MTS_CASES], ids=[c[0] for c in MTS_CASES]
)
def test_mts_rule(
    tmp_path: Path, ck_kw: dict[str, str], jh_kw: dict[str, str], expected: list[str]
) -> None:
    res = mts(tmp_path, [ck(1, "G1", **ck_kw)], [jh(2, "G1", "00000001", **jh_kw)])
    assert [c for _, c in codes(res)] == expected
    assert res.amounts is not None
    blocked = any(not d.passable for d in res.doubts)
    assert res.amounts["refund"] == ("0.00" if blocked else "1300.00")


def test_fp_amount_over_counts_earlier_rows_and_declared(tmp_path: Path) -> None:
    invs = [invoice("00000001", declared_amount_so_far=D("4000.00"))]
    cks = [ck(1, "G1"), ck(2, "G2")]
    jhs = [
        jh(3, "G1", "00000001", jsje="5000.00", tse="650.00", sl="10"),
        jh(4, "G2", "00000001", jsje="1000.01", tse="130.00", sl="10"),
    ]
    res = mts(tmp_path, cks, jhs, invs)
    assert codes(res) == [("0004", "FP_AMOUNT_OVER")]
    assert res.amounts == {"taxable_amount": "5000.00", "refund": "650.00"}


def test_glh_orphans_on_both_sides(tmp_path: Path) -> None:
    cks = [ck(1, "G1"), ck(2, "G2"), ck(3, "G2")]
    jhs = [
        jh(4, "G1", "00000001"),
        jh(5, "G9", "00000002"),
        jh(6, "G9", "00000002", jsje="0.00", tse="0.00"),
    ]
    lines: list[LineResult] = []
    res = mts(tmp_path, cks, jhs, on_line=lines.append)
    assert codes(res) == [
        ("0002", "GLH_ORPHAN"),
        ("0003", "GLH_ORPHAN"),
        ("0005", "GLH_ORPHAN"),
        ("0006", "GLH_ORPHAN"),
    ]
    assert "只有出口" in res.doubts[0].message and "只有进货" in res.doubts[2].message
    assert res.amounts == {"taxable_amount": "10000.00", "refund": "1300.00"}
    assert [(ln.seq, ln.blocking) for ln in lines] == [
        ("0001", False),
        ("0002", True),
        ("0003", True),
    ]


def test_blocked_export_line_drops_its_purchases(tmp_path: Path) -> None:
    res = mts(tmp_path, [ck(1, "G1", tsl="0.09")], [jh(2, "G1", "00000001")])
    assert codes(res) == [("0001", "TSL_MISMATCH")]
    assert res.amounts == {"taxable_amount": "0.00", "refund": "0.00"}


def test_jhmx_rate_uses_export_date_of_its_glh(tmp_path: Path) -> None:
    # 7601100000's library row ends 2026-09-30: fine for a September export, not for October
    cks = [ck(1, "G1", cksp_dm="7601100000", ckrq="20260930")]
    invs = [invoice("00000001")]
    ref_lines = {"export_date": date(2026, 9, 30), "commodity_code": "7601100000"}
    ref = reference([customs(1, **ref_lines)], invs, TRADER)  # type: ignore[arg-type]
    res = audit(
        tmp_path,
        {"mts_ckmx": cks, "mts_jhmx": [jh(2, "G1", "00000001", cksp_dm="7601100000")]},
        ref,
    )
    assert res.result == 0
    ref = reference([customs(1, commodity_code="7601100000")], invs, TRADER)
    cks[0]["ckrq"] = "20261005"
    res = audit(
        tmp_path,
        {"mts_ckmx": cks, "mts_jhmx": [jh(2, "G1", "00000001", cksp_dm="7601100000")]},
        ref,
    )
    assert codes(res) == [("0001", "SPDM_NOT_IN_LIB"), ("0002", "SPDM_NOT_IN_LIB")]


# ------------------------------------------------------------------ certificates / peripheral


def test_dz_dlck_rules(tmp_path: Path) -> None:
    row = {
        "sbxh": "0001",
        "ckbgdh": f"{entry(1)}001",
        "wtfnsrsbh": "91310000MA1FL5LK2B",
        "wtfmc": "委托方",
        "cksp_dm": "8471300000",
        "cksl": "10",
        "mylaj": "1000.00",
        "bz": "",
    }
    ok = dict(row, sbxh="0002", wtfnsrsbh="91310000MA1FL5LK26", ckbgdh=f"{entry(2)}001")
    bad_entry = dict(
        row, sbxh="0003", wtfnsrsbh="91310000MA1FL5LK26", ckbgdh=f"{entry(9)}001", cksl="-1"
    )
    res = audit(
        tmp_path,
        {"dz_dlck": [row, ok, bad_entry]},
        reference([customs(1), customs(2)]),
        sbywbm="A0201001",
    )
    assert codes(res) == [("0001", "WTF_NSRSBH"), ("0003", "BGD_WDZXX"), ("0003", "FS_NO_HZCJ")]
    assert res.amounts is None and res.record_count == 3


def test_zb_cksh_future_date(tmp_path: Path) -> None:
    row = {
        "sbxh": "1",
        "ckbgdh": f"{entry(1)}001",
        "shrq": "20261111",
        "bz_dm": "USD",
        "shje": "1000.00",
        "shpzh": "",
    }
    res = audit(tmp_path, {"zb_cksh": [row]}, reference([customs(1)]), sbywbm="A0404001")
    assert codes(res) == [("0001", "RQ_FUTURE")] and res.doubts[0].field == "shrq"
    assert "收汇日期[20261111]" in res.doubts[0].message


# ------------------------------------------------------------------ rejects


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("suspended", "13"),
        ("filing_withdrawn", "09"),
        ("not_filed", "08"),
        ("waived", "16"),
        ("exempt_choice", "14"),
        ("tax_choice", "15"),
    ],
)
def test_state_rejects(tmp_path: Path, state: str, code: str) -> None:
    res = audit(
        tmp_path,
        {"mdt_ckmx": [mdt_row(1)]},
        reference([customs(1)], enterprise=replace(MANUFACTURER, state=state)),
    )
    assert (res.result, res.reject_code, res.reject_text, res.doubts, res.amounts) == (
        None,
        code,
        REJECT_CODES[code],
        [],
        None,
    )


def test_period_empty_kind_and_waived_rejects(tmp_path: Path) -> None:
    ref = reference([customs(1)])
    assert audit(tmp_path, {"mdt_ckmx": [mdt_row(1)]}, ref, ssq="202612").reject_code == "05"
    res = audit(tmp_path, {"mdt_ckmx": [mdt_row(1)]}, ref, ssq="202310")  # 37 months back
    assert (res.reject_code, res.reject_text, res.record_count) == (
        "05",
        "申报所属时期超出合理范围",
        1,
    )
    res = audit(
        tmp_path,
        {"mdt_ckmx": [mdt_row(1, ckrq="20231110")]},
        reference([customs(1, export_date=date(2023, 11, 10))], exchange_rates={}),
        ssq="202311",
    )
    assert res.reject_code is None  # exactly 36 months back is still in range
    assert audit(tmp_path, {"mdt_ckmx": []}, ref).reject_code == "07"
    trader_ref = reference([customs(1)], enterprise=TRADER)
    assert audit(tmp_path, {"mdt_ckmx": [mdt_row(1)]}, trader_ref).reject_code == "20"
    waived = replace(MANUFACTURER, waived_periods=((date(2026, 10, 15), None),))
    assert (
        audit(
            tmp_path, {"mdt_ckmx": [mdt_row(1)]}, reference([customs(1)], enterprise=waived)
        ).reject_code
        == "16"
    )
    waived = replace(MANUFACTURER, waived_periods=((date(2025, 1, 1), date(2026, 9, 30)),))
    assert (
        audit(
            tmp_path, {"mdt_ckmx": [mdt_row(1)]}, reference([customs(1)], enterprise=waived)
        ).reject_code
        is None
    )
    assert set(REJECT_CODES) == {"05", "07", "08", "09", "13", "14", "15", "16", "20", "52"}
