import pytest

from app.declaration.businesses import BUSINESSES, businesses_for, get_business
from app.declaration.columns import TABLE_COLUMNS, TABLE_NAMES
from app.declaration.validators import (
    account_problem,
    credit_code_check_char,
    is_valid_credit_code,
    is_valid_customs_code,
    is_valid_export_entry_line,
    is_valid_invoice_voucher,
    is_valid_org_code,
    is_valid_taxpayer_id,
    org_code_check_char,
)

DEMO = [  # protocol §10: (credit code = taxpayer id, customs code)
    ("91110108MA01HC7K1M", "1108361234"),
    ("91110105MA02YH3Q27", "1105466789"),
    ("91110115MA03XQ5R3K", "1115362468"),
    ("91110106MA04TQ8W2Y", "1106361357"),
]


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "9144030071526726XG"])
def test_known_valid_credit_codes(code: str) -> None:
    assert is_valid_credit_code(code)
    assert is_valid_taxpayer_id(code)


def test_known_invalid_credit_code_and_its_right_check_char() -> None:
    assert not is_valid_credit_code("91310000MA1FL5LK2B")
    assert credit_code_check_char("91310000MA1FL5LK2") == "6"
    assert is_valid_credit_code("91310000MA1FL5LK26")


@pytest.mark.parametrize(
    "code",
    ["", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100I43", "9135A100M000100Y43"],
)
def test_malformed_credit_codes(code: str) -> None:
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize(("credit", "customs"), DEMO)
def test_demo_enterprises_codes_are_valid(credit: str, customs: str) -> None:
    assert is_valid_credit_code(credit)
    assert is_valid_taxpayer_id(credit)
    assert is_valid_customs_code(customs)
    assert account_problem("credit_code", credit) is None
    assert account_problem("taxpayer_id", credit.lower() + " ") is None
    assert account_problem("customs_code", customs) is None


def test_org_code() -> None:
    assert org_code_check_char("D2143569") == "X"
    assert is_valid_org_code("D2143569X")
    assert not is_valid_org_code("D21435691")
    assert is_valid_org_code("M000100Y4")
    assert org_code_check_char("00000000") == "0"  # 11 → 0


def test_taxpayer_id_lengths() -> None:
    assert is_valid_taxpayer_id("110108D2143569X")  # 15: area + 组织机构代码
    assert not is_valid_taxpayer_id("110108D21435691")
    assert not is_valid_taxpayer_id("11010AD2143569X")
    assert is_valid_taxpayer_id("110101199001011234AB")  # 20
    assert not is_valid_taxpayer_id("1101011990010112345")  # 19


def test_customs_entry_and_invoice_forms() -> None:
    assert not is_valid_customs_code("110836123")
    assert not is_valid_customs_code("11083612a4")
    assert is_valid_customs_code("11083612A4")
    assert is_valid_export_entry_line("110820260000012345001")
    assert not is_valid_export_entry_line("110820261000012345001")  # import entry
    assert not is_valid_export_entry_line("110820260000012345101")  # no 0 before 项号
    assert not is_valid_export_entry_line("110820260000012345000")  # 项号 00
    assert not is_valid_export_entry_line("11082026000001234500")
    assert not is_valid_export_entry_line("1108202600000123450012")  # too long
    assert not is_valid_export_entry_line("11082026000001234500a")
    assert not is_valid_export_entry_line("11082026000001234500²")  # a digit, not decimal
    assert not is_valid_export_entry_line(" 110820260000012345001"[:21])
    # a str pattern's \d is any Unicode decimal digit: so is the check (Arabic-Indic 1)
    assert is_valid_export_entry_line("11082026000001234500\u0661")
    assert is_valid_invoice_voucher("110026213012345678")
    assert is_valid_invoice_voucher("26112000000012345678")
    assert not is_valid_invoice_voucher("1100262130123456789")
    assert not is_valid_invoice_voucher("11002621301234567X")


def test_account_problem_messages_are_chinese() -> None:
    for kind, bad in (
        ("customs_code", "123"),
        ("taxpayer_id", "91310000MA1FL5LK2B"),
        ("credit_code", "91310000MA1FL5LK2B"),
        ("password", "x"),
        ("credit_code", "  "),
    ):
        msg = account_problem(kind, bad)
        assert msg and any("\u4e00" <= ch <= "\u9fff" for ch in msg)


def test_business_table() -> None:
    assert len(BUSINESSES) == 10
    mdt = get_business("A0305001")
    assert mdt is not None and mdt.main_table == "mdt_ckmx" and mdt.optional_tables == ("mdt_hz",)
    assert mdt.pre_audit_required and mdt.kinds == {"manufacturer"}
    mts = get_business("A0301001")
    assert mts is not None and mts.tables == ("mts_ckmx", "mts_jhmx") and mts.cls == "免退税"
    assert get_business("A0201004") is not None and not get_business("A0201004").pre_audit_required  # type: ignore[union-attr]
    assert get_business("X") is None
    codes_m = {b.code for b in businesses_for("manufacturer")}
    codes_t = {b.code for b in businesses_for("trader")}
    assert "A0305001" in codes_m and "A0301001" not in codes_m
    assert "A0301001" in codes_t and "A0305001" not in codes_t
    assert len(codes_m) == len(codes_t) == 9
    for b in BUSINESSES.values():
        for t in b.all_tables:
            assert t in TABLE_COLUMNS and t in TABLE_NAMES
    for cols in TABLE_COLUMNS.values():
        assert cols[0].code == "sbxh" and cols[0].required
