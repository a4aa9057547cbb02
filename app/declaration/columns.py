"""Column definitions of every table of package-format §3 (national CKTS layouts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["text", "code", "amount", "quantity", "rate", "date", "int", "seq"]

# Decimal places allowed per numeric kind (package-format §1.1).
DECIMALS: dict[str, int] = {"amount": 2, "quantity": 5, "rate": 6}
NAME_LENGTH = 500  # names and 备注


@dataclass(frozen=True)
class Column:
    code: str
    name: str
    required: bool
    kind: ColumnKind
    max_length: int


def _c(code: str, name: str, kind: ColumnKind, length: int, required: bool = True) -> Column:
    return Column(code, name, required, kind, length)


def _o(code: str, name: str, kind: ColumnKind, length: int) -> Column:
    return Column(code, name, False, kind, length)


SBXH = _c("sbxh", "申报序号", "seq", 8)
CKBGDH = _c("ckbgdh", "出口报关单号", "code", 21)
CKRQ = _c("ckrq", "出口日期", "date", 8)
CKSP_DM = _c("cksp_dm", "出口商品代码", "code", 10)
SBHGSPMC = _c("sbhgspmc", "商品名称", "text", NAME_LENGTH)
HGJLDWMC = _c("hgjldwmc", "计量单位", "text", 20)
CKSL = _c("cksl", "出口数量", "quantity", 20)
MYLAJ = _c("mylaj", "美元离岸价", "amount", 20)
TSL = _c("tsl", "退税率", "rate", 10)
BZ = _o("bz", "备注", "text", NAME_LENGTH)
GLH = _c("glh", "关联号", "code", 20)
YY = _o("yy", "原因", "text", NAME_LENGTH)

TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "mdt_ckmx": (
        SBXH,
        _o("ckfph", "出口发票号", "code", 30),
        CKBGDH,
        CKRQ,
        CKSP_DM,
        SBHGSPMC,
        HGJLDWMC,
        CKSL,
        MYLAJ,
        _c("rmblaj", "人民币离岸价", "amount", 20),
        _c("zssl", "征税率", "rate", 10),
        TSL,
        _o("jljgszch", "进料加工手(账)册号", "code", 12),
        _o("tzhjhfpl", "计划分配率", "rate", 10),
        _o("cktmsywlxdmjh", "业务类型代码集合", "code", 100),
        BZ,
    ),
    "mdt_hz": (SBXH, _c("qmldse", "期末留抵税额", "amount", 20)),
    "mts_ckmx": (SBXH, GLH, CKBGDH, CKRQ, CKSP_DM, SBHGSPMC, HGJLDWMC, CKSL, MYLAJ, TSL, BZ),
    "mts_jhmx": (
        SBXH,
        GLH,
        _c("jhpzh", "进货凭证号", "code", 20),
        _c("kprq", "开票日期", "date", 8),
        _c("ghfnsrsbh", "供货方纳税人识别号", "code", 20),
        CKSP_DM,
        _o("spmc", "商品名称", "text", NAME_LENGTH),
        _o("jldw", "计量单位", "text", 20),
        _c("sl", "数量", "quantity", 20),
        _c("jsje", "计税金额", "amount", 20),
        _c("zssl", "征税率", "rate", 10),
        TSL,
        _c("tse", "可退税额", "amount", 20),
    ),
    "dz_dlck": (
        SBXH,
        CKBGDH,
        _c("wtfnsrsbh", "委托方纳税人识别号", "code", 20),
        _o("wtfmc", "委托方名称", "text", NAME_LENGTH),
        CKSP_DM,
        CKSL,
        MYLAJ,
        BZ,
    ),
    "dz_znx": (SBXH, CKBGDH, CKSP_DM, CKSL, YY, BZ),
    "dz_bb": (SBXH, CKBGDH, CKSP_DM, CKSL, YY, BZ),
    "zb_cksh": (
        SBXH,
        CKBGDH,
        _c("shrq", "收汇日期", "date", 8),
        _c("bz_dm", "币种", "code", 3),
        _c("shje", "收汇金额", "amount", 20),
        _o("shpzh", "收汇凭证号", "code", 30),
    ),
    "zb_bnsh": (
        SBXH,
        CKBGDH,
        _c("yydm", "原因代码", "code", 2),
        _o("zmcl", "证明材料", "text", NAME_LENGTH),
        BZ,
    ),
    "zb_fqts": (
        SBXH,
        _c("fqlx", "放弃类型", "int", 1),
        _c("qsrq", "起始日期", "date", 8),
        YY,
    ),
    "zb_babg": (
        SBXH,
        _c("bgxm", "变更项目", "text", 50),
        _o("bgq", "变更前", "text", NAME_LENGTH),
        _c("bgh", "变更后", "text", NAME_LENGTH),
    ),
    "zb_chsb": (
        SBXH,
        _c("chsbywbm", "撤回的业务代码", "code", 8),
        _c("chssq", "所属期", "code", 6),
        _c("chsbpc", "批次", "code", 3),
        _c("yy", "原因", "text", NAME_LENGTH),
    ),
}

TABLE_NAMES: dict[str, str] = {
    "mdt_ckmx": "生产企业出口货物免抵退税申报明细",
    "mdt_hz": "生产企业免抵退税申报汇总",
    "mts_ckmx": "外贸企业出口明细",
    "mts_jhmx": "外贸企业进货明细",
    "dz_dlck": "代理出口货物证明",
    "dz_znx": "出口货物转内销证明",
    "dz_bb": "补办出口退(免)税有关证明",
    "zb_cksh": "出口收汇",
    "zb_bnsh": "出口不能收汇",
    "zb_fqts": "放弃出口退(免)税",
    "zb_babg": "出口退(免)税备案变更",
    "zb_chsb": "企业撤回申报数据",
}

COLUMN_INDEX: dict[str, dict[str, Column]] = {
    t: {c.code: c for c in cols} for t, cols in TABLE_COLUMNS.items()
}
