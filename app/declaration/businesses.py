"""The business table of package-format §2 (申报业务表): adding a business is adding a row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BusinessClass = Literal["免抵退", "免退税", "单证", "周边"]

_BOTH = frozenset({"manufacturer", "trader"})
_MANUFACTURER = frozenset({"manufacturer"})
_TRADER = frozenset({"trader"})


@dataclass(frozen=True)
class Business:
    code: str  # 申报业务表代码 (sbywbm)
    name: str
    cls: BusinessClass
    tables: tuple[str, ...]  # required, main table first
    optional_tables: tuple[str, ...]
    pre_audit_required: bool  # 预申报 before 正式申报
    kinds: frozenset[str]  # enterprise kinds allowed to send it
    main_table: str  # its rows are the declaration's record_count

    @property
    def all_tables(self) -> tuple[str, ...]:
        return self.tables + self.optional_tables


def _b(
    code: str,
    name: str,
    cls: BusinessClass,
    tables: tuple[str, ...],
    pre: bool,
    kinds: frozenset[str] = _BOTH,
    optional: tuple[str, ...] = (),
) -> Business:
    return Business(code, name, cls, tables, optional, pre, kinds, tables[0])


BUSINESSES: dict[str, Business] = {
    b.code: b
    for b in (
        _b(
            "A0305001",
            "生产企业免抵退税申报",
            "免抵退",
            ("mdt_ckmx",),
            True,
            _MANUFACTURER,
            ("mdt_hz",),
        ),
        _b("A0301001", "外贸企业免退税申报", "免退税", ("mts_ckmx", "mts_jhmx"), True, _TRADER),
        _b("A0201001", "代理出口货物证明申请", "单证", ("dz_dlck",), True),
        _b("A0201004", "出口货物转内销证明申请", "单证", ("dz_znx",), False),
        _b("A0202001", "补办出口退(免)税有关证明申请", "单证", ("dz_bb",), False),
        _b("A0404001", "出口收汇数据申报", "周边", ("zb_cksh",), True),
        _b("A0404002", "出口不能收汇申报", "周边", ("zb_bnsh",), True),
        _b("A0409004", "放弃出口退(免)税声明", "周边", ("zb_fqts",), False),
        _b("A0102001", "出口退(免)税备案变更", "周边", ("zb_babg",), False),
        _b("A0410002", "企业撤回申报数据申请", "周边", ("zb_chsb",), False),
    )
}


def get_business(code: str) -> Business | None:
    return BUSINESSES.get(code)


def businesses_for(kind: str) -> list[Business]:
    """The businesses an enterprise of ``kind`` (manufacturer | trader) may declare."""
    return [b for b in BUSINESSES.values() if kind in b.kinds]
