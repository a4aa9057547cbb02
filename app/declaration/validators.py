"""Identifier validators (docs/domain.md §2, protocol §2)."""

from __future__ import annotations

import re

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {ch: i for i, ch in enumerate(CREDIT_CHARSET)}
_CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = re.compile(r"[0-9A-Z]{8}")
_CUSTOMS = re.compile(r"\d{5}[0-9A-Z]{5}")
_TAXPAYER_20 = re.compile(r"[0-9A-Z]{20}")
_VOUCHER = re.compile(r"\d{18}|\d{20}")


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 (GB 32100-2015) for its first 17."""
    if len(first17) != 17 or any(ch not in _CREDIT_VALUE for ch in first17):
        raise ValueError("统一社会信用代码前17位不合法")
    total = sum(_CREDIT_VALUE[ch] * w for ch, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def is_valid_credit_code(s: str) -> bool:
    if len(s) != 18 or any(ch not in _CREDIT_VALUE for ch in s) or not s[2:8].isdigit():
        return False
    return credit_code_check_char(s[:17]) == s[17]


def org_code_check_char(first8: str) -> str:
    """The 9th character of a 组织机构代码 (GB 11714) for its first 8."""
    if not _ORG_BODY.fullmatch(first8):
        raise ValueError("组织机构代码前8位不合法")
    total = sum(int(ch, 36) * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def is_valid_org_code(s: str) -> bool:
    return len(s) == 9 and bool(_ORG_BODY.fullmatch(s[:8])) and org_code_check_char(s[:8]) == s[8]


def is_valid_taxpayer_id(s: str) -> bool:
    """纳税人识别号: 15 (area + 组织机构代码), 18 (credit code) or 20 characters."""
    if len(s) == 15:
        return s[:6].isdigit() and is_valid_org_code(s[6:])
    if len(s) == 18:
        return is_valid_credit_code(s)
    return bool(_TAXPAYER_20.fullmatch(s))


def is_valid_customs_code(s: str) -> bool:
    """海关代码: 10 characters; area (4 digits), 经济区划 (a digit), then digits/capitals."""
    return bool(_CUSTOMS.fullmatch(s))


def is_valid_export_entry_line(s: str) -> bool:
    """报关单号+项号 on a detail line: 18-digit 海关编号 (export: 9th is 0) + ``0`` + 项号.

    ``isdecimal`` is the ``\\d`` of a str pattern (Unicode Nd), without a regex per row.
    """
    return len(s) == 21 and s[8] == "0" and s[18] == "0" and s.isdecimal() and s[19:] != "00"


def is_valid_invoice_voucher(s: str) -> bool:
    """进货凭证号: 10-digit 发票代码 + 8-digit 发票号码, or a 20-digit 数电票号码."""
    return bool(_VOUCHER.fullmatch(s))


_ACCOUNT_RULES = {
    "customs_code": (
        is_valid_customs_code,
        "海关代码应为10位，前5位为数字，其余为数字或大写字母，请核对后重新输入。",
    ),
    "taxpayer_id": (
        is_valid_taxpayer_id,
        "纳税人识别号应为15位、18位或20位且校验位正确，请核对后重新输入。",
    ),
    "credit_code": (
        is_valid_credit_code,
        "统一社会信用代码应为18位且校验位正确，请核对后重新输入。",
    ),
}


def account_problem(account_type: str, account: str) -> str | None:
    """Why a login account is malformed (Chinese), or None when it is well formed.

    The account is trimmed and upper-cased first, as the login does.
    """
    rule = _ACCOUNT_RULES.get(account_type)
    if rule is None:
        return "账号类型不正确，应为海关代码、纳税人识别号或统一社会信用代码。"
    value = account.strip().upper()
    if not value:
        return "请输入账号。"
    check, message = rule
    return None if check(value) else message
