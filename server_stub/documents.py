"""文书: the PDFs the platform issues, laid out like the official forms.

Every document has the same frame: title, 文号, the taxpayer block (纳税人识别号, 名称,
所属期), a ruled table, totals in figures and in Chinese capitals (大写), the issuing tax
office and the date. The CJK font is embedded (a GB2312 subset of Noto Sans SC, see
assets/fonts/README.md), so the PDFs look the same everywhere and their text extracts.

An issued document's PDF is stored under DATA_DIR/documents before its row commits
(temp file, fsync, rename); :func:`recover` removes what a crash left between the two.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from app.declaration.amounts import money
from server_stub.settings import fault_pause

FONT_PATH = Path(__file__).parent / "assets" / "fonts" / "NotoSansSC-GB2312.ttf"
FONT = "NotoSansSC"

TEMP_PREFIX = ".tmp-"  # a PDF being written, beside its final name

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _section_words(n: int) -> str:
    """0 < n < 10000 in capitals, inner zeros read once (1005 → 壹仟零伍)."""
    out = ""
    zero = False
    for pos in (3, 2, 1, 0):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[d] + _SMALL_UNITS[pos]
    return out


def _integer_words(n: int) -> str:
    sections: list[int] = []
    while n:
        sections.append(n % 10000)
        n //= 10000
    out = ""
    gap = False  # a zero section (or leading zeros) between two non-zero ones reads 零
    for idx in reversed(range(len(sections))):
        sec = sections[idx]
        if sec == 0:
            gap = bool(out)
            continue
        if out and (gap or sec < 1000):
            out += "零"
        out += _section_words(sec) + _BIG_UNITS[idx]
        gap = False
    return out


def amount_in_words(amount: Decimal) -> str:
    """金额大写 as on Chinese financial forms: 63900.00 → 陆万叁仟玖佰元整.

    Rounded half up to the 分; 整 after 元 or 角, not after 分; a negative amount
    (红字) is prefixed 负.
    """
    value = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "负" if value < 0 else ""
    cents = int(abs(value) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = _integer_words(yuan) + "元" if yuan else ""
    if jiao == 0 and fen == 0:
        return sign + (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif yuan:
        words += "零"
    words += _DIGITS[fen] + "分" if fen else "整"
    return sign + words


def period_text(period: str) -> str:
    """所属期 for people: 202610 → 2026年10月, 2026 → 2026年度."""
    if len(period) == 6:
        return f"{period[:4]}年{int(period[4:])}月"
    return f"{period}年度"


def date_text(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass
class Table:
    caption: str  # shown above the table ("" = none)
    headings: Sequence[str]
    widths: Sequence[float]  # relative column widths
    rows: Sequence[Sequence[str]]
    # columns right-aligned (money, counts); the others are left-aligned
    numeric: frozenset[int] = frozenset()
    centered: frozenset[int] = frozenset()
    total_row: Sequence[str] | None = None
    empty_text: str = "本所属期无申报数据。"


@dataclass
class Form:
    """One official-looking document."""

    title: str
    doc_no: str  # 文号, e.g. 京税退审〔2026〕0012号
    taxpayer_id: str
    name: str
    period: str | None
    tax_office: str
    issued_on: date
    tables: Sequence[Table]
    intro: str = ""  # a paragraph above the table (notices)
    total_label: str = ""  # e.g. 应退税额合计
    total: Decimal | None = None  # shown in figures and in 大写
    notes: Sequence[str] = field(default_factory=tuple)
    subtitle: str = ""


class _Pdf(FPDF):
    def __init__(self, form: Form) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.form = form
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=18)
        self.add_font(FONT, "", str(FONT_PATH))
        self.set_title(form.title)
        self.set_author(form.tax_office)
        self.set_creator("出口退税综合服务平台")
        # fixed metadata date: the same document always gives the same bytes
        self.set_creation_date(datetime(2000, 1, 1))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"第 {self.page_no()} 页 / 共 {{nb}} 页", align=Align.C)
        self.set_text_color(0, 0, 0)


def render_form(form: Form) -> bytes:
    """The PDF of ``form``."""
    pdf = _Pdf(form)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(FONT, size=18)
    pdf.cell(width, 11, form.title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if form.subtitle:
        pdf.set_font(FONT, size=11)
        pdf.cell(width, 6, form.subtitle, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.cell(width, 6, form.doc_no, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(2.5)

    pdf.set_font(FONT, size=10)
    half = width / 2
    pdf.cell(half, 6.5, f"纳税人识别号：{form.taxpayer_id}")
    pdf.cell(
        half, 6.5, f"所属期：{period_text(form.period) if form.period else '—'}", align=Align.R
    )
    pdf.ln(6.5)
    pdf.cell(half + 20, 6.5, f"纳税人名称：{form.name}")
    pdf.cell(half - 20, 6.5, "金额单位：人民币元（列至角分）", align=Align.R)
    pdf.ln(8)

    if form.intro:
        pdf.set_font(FONT, size=11)
        pdf.multi_cell(
            width, 7, form.intro, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR
        )
        pdf.ln(2)

    for i, table in enumerate(form.tables):
        if i:
            pdf.ln(4)
        _draw_table(pdf, table)

    if form.total is not None:
        pdf.ln(3)
        pdf.set_font(FONT, size=10.5)
        pdf.set_line_width(0.3)
        label = form.total_label or "合计"
        pdf.cell(
            width, 8, f"{label}（小写）：¥{money(form.total)}", border=1,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip
        pdf.cell(
            width, 8, f"{label}（大写）：{amount_in_words(form.total)}", border=1,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip

    if form.notes:
        pdf.ln(3)
        pdf.set_font(FONT, size=9)
        for note in form.notes:
            pdf.multi_cell(
                width, 5.5, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR
            )

    _draw_signature(pdf, form)
    return bytes(pdf.output())


def _draw_table(pdf: _Pdf, table: Table) -> None:
    if table.caption:
        pdf.set_font(FONT, size=10)
        pdf.cell(pdf.epw, 7, table.caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=9)
    pdf.set_line_width(0.25)
    total_w = sum(table.widths)
    widths = tuple(w * pdf.epw / total_w for w in table.widths)
    rows: list[Sequence[str]] = list(table.rows)
    if not rows:
        rows = [[table.empty_text] + [""] * (len(table.headings) - 1)]
    heading_style = FontFace(fill_color=(232, 232, 232))
    with pdf.table(
        col_widths=widths,
        width=pdf.epw,
        line_height=6.2,
        borders_layout=TableBordersLayout.ALL,
        headings_style=heading_style,
        text_align="CENTER",
        first_row_as_headings=True,
    ) as t:
        head = t.row()
        for h in table.headings:
            head.cell(h, align=Align.C)
        for values in rows:
            r = t.row()
            if not table.rows:
                r.cell(values[0], colspan=len(table.headings), align=Align.C)
                continue
            for i, v in enumerate(values):
                r.cell(v, align=_align(table, i))
        if table.total_row is not None and table.rows:
            r = t.row(style=FontFace(fill_color=(245, 245, 245)))
            for i, v in enumerate(table.total_row):
                r.cell(v, align=Align.R if i in table.numeric else Align.C)


def _align(table: Table, column: int) -> Align:
    if column in table.numeric:
        return Align.R
    return Align.C if column in table.centered else Align.L


def _draw_signature(pdf: _Pdf, form: Form) -> None:
    if pdf.get_y() > pdf.h - 70:
        pdf.add_page()
    pdf.ln(14)
    right = pdf.l_margin + pdf.epw
    y = pdf.get_y()
    pdf.set_font(FONT, size=11)
    pdf.set_xy(right - 80, y)
    pdf.cell(80, 7, form.tax_office, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.cell(80, 7, date_text(form.issued_on), align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    _draw_seal(pdf, right - 28, y + 8, form.tax_office)


def _draw_seal(pdf: _Pdf, cx: float, cy: float, office: str) -> None:
    """The office's seal over its name, as on printed notices: a red ring, the office
    name along the upper arc, a star, and 出口退税专用章 below it."""
    radius = 19.0
    pdf.set_draw_color(205, 35, 35)
    pdf.set_fill_color(205, 35, 35)
    pdf.set_text_color(205, 35, 35)
    pdf.set_line_width(0.8)
    pdf.circle(x=cx, y=cy, radius=radius)
    pdf.star(x=cx, y=cy - 1, r_in=2.2, r_out=5.5, corners=5, style="F")
    pdf.set_font(FONT, size=6.5)
    span = 240.0  # degrees of arc the name covers, centred on the top
    step = span / max(len(office) - 1, 1)
    for i, char in enumerate(office):
        angle = -span / 2 + i * step  # 0 = straight up, clockwise positive
        rad = math.radians(angle)
        x = cx + (radius - 4) * math.sin(rad)
        y = cy - (radius - 4) * math.cos(rad)
        with pdf.rotation(-angle, x, y):
            pdf.set_xy(x - 1.5, y - 1.5)
            pdf.cell(3, 3, char, align=Align.C)
    pdf.set_xy(cx - 12, cy + 6)
    pdf.cell(24, 4, "出口退税专用章", align=Align.C)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)


@dataclass(frozen=True)
class Taxpayer:
    """Who a document is issued to, and by which office."""

    taxpayer_id: str
    name: str
    tax_office: str


@dataclass(frozen=True)
class DeclarationFacts:
    """What the period documents show of one formal declaration."""

    business_code: str
    business_name: str
    period: str
    batch: str
    status_text: str
    record_count: int
    declared_refund: Decimal
    approved_refund: Decimal | None  # None until approved
    approved_at: datetime | None
    amounts: Mapping[str, str]  # protocol §5.4, {} when not audited
    lines_approved: int = 0
    lines_refused: int = 0


def _ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def render_acceptance_notice(
    *,
    declaration_id: str,
    taxpayer_id: str,
    name: str,
    business_code: str,
    business_name: str,
    period: str,
    batch: str,
    record_count: int,
    accepted_at: datetime,
    declared_refund: Decimal,
    tax_office: str,
) -> bytes:
    """受理文书 (税务事项通知书·受理) of one formal declaration (protocol §5.3)."""
    table = Table(
        caption="",
        headings=("业务代码", "申报业务", "所属期", "批次", "明细条数", "受理时间", "申报退税额"),
        widths=(17, 34, 14, 9, 12, 26, 20),
        rows=[
            (
                business_code,
                business_name,
                period,
                batch,
                str(record_count),
                accepted_at.strftime("%Y-%m-%d %H:%M:%S"),
                money(declared_refund),
            )
        ],
        numeric=frozenset({4, 6}),
    )
    form = Form(
        title="税务事项通知书",
        subtitle="（出口退（免）税申报受理通知）",
        doc_no=f"受理编号：{declaration_id}",
        taxpayer_id=taxpayer_id,
        name=name,
        period=period,
        tax_office=tax_office,
        issued_on=accepted_at.date(),
        intro=(
            f"{name}：\n"
            f"\u3000\u3000你单位于{date_text(accepted_at.date())}报送的{business_name}"
            f"（所属期{period_text(period)}，批次{batch}）申报数据已收悉。"
            "经审查，符合受理条件，现予受理。受理信息如下："
        ),
        tables=[table],
        total_label="申报退税额",
        total=declared_refund,
        notes=(
            "说明：1. 受理后税务机关将对申报数据进行审核、审批，审核进度可在“退税进度”中查询。",
            "2. 请按规定在申报之日起15日内将备案单证整理归档，留存备查。",
        ),
    )
    return render_form(form)


_MDT_ITEMS = (
    ("出口货物人民币离岸价（免抵退出口销售额）", "fob_cny"),
    ("免抵退税不得免征和抵扣税额", "not_exempt_amount"),
    ("免抵退税额", "mdt_amount"),
    ("应退税额", "refund"),
    ("免抵税额", "exempt_offset"),
)


def render_mdt_summary(
    *,
    document_id: str,
    taxpayer: Taxpayer,
    period: str,
    declarations: Sequence[DeclarationFacts],
    year_declarations: Sequence[DeclarationFacts],
    closing_credit: Decimal | None,
    issued_on: date,
) -> bytes:
    """生产企业免抵退税汇总表: the period's 免抵退 declarations summed, with the year so far."""

    def total(decls: Sequence[DeclarationFacts], key: str) -> Decimal:
        return _sum(Decimal(d.amounts.get(key, "0")) for d in decls)

    items: list[Sequence[str]] = []
    for line_no, (label, key) in enumerate(_MDT_ITEMS, start=1):
        items.append(
            (label, str(line_no), money(total(declarations, key)),
             money(total(year_declarations, key)))
        )  # fmt: skip
        if key == "mdt_amount":
            credit = "—" if closing_credit is None else money(closing_credit)
            items.append(("期末留抵税额（增值税纳税申报表）", "4", credit, "—"))
    items = [(label, str(i), cur, acc) for i, (label, _, cur, acc) in enumerate(items, start=1)]
    count = sum(d.record_count for d in declarations)
    year_count = sum(d.record_count for d in year_declarations)
    items.append(("申报明细条数", str(len(items) + 1), str(count), str(year_count)))
    summary = Table(
        caption="一、汇总",
        headings=("项目", "栏次", "当期", "本年累计"),
        widths=(44, 8, 24, 24),
        rows=items if declarations else [],
        numeric=frozenset({2, 3}),
        centered=frozenset({1}),
    )
    batches = Table(
        caption="二、分批次明细",
        headings=("批次", "状态", "明细条数", "人民币离岸价", "免抵退税额", "应退税额", "免抵税额"),
        widths=(9, 14, 11, 20, 18, 16, 16),
        rows=[
            (
                d.batch,
                d.status_text,
                str(d.record_count),
                *(
                    money(Decimal(d.amounts.get(k, "0")))
                    for k in ("fob_cny", "mdt_amount", "refund", "exempt_offset")
                ),
            )
            for d in declarations
        ],
        numeric=frozenset({2, 3, 4, 5, 6}),
        total_row=(
            "合计",
            "",
            str(count),
            *(
                money(total(declarations, k))
                for k in ("fob_cny", "mdt_amount", "refund", "exempt_offset")
            ),
        ),
    )
    form = Form(
        title="生产企业免抵退税汇总表",
        subtitle="（出口货物劳务免抵退税申报汇总）",
        doc_no=f"文书编号：{document_id}",
        taxpayer_id=taxpayer.taxpayer_id,
        name=taxpayer.name,
        period=period,
        tax_office=taxpayer.tax_office,
        issued_on=issued_on,
        tables=[summary, batches],
        total_label="当期应退税额",
        total=total(declarations, "refund"),
        notes=(
            "说明：1. 本表根据已确认的免抵退税正式申报数据汇总，不含已撤回、不予受理和审核不通过的申报。",
            "2. 期末留抵税额取自当期增值税纳税申报表；应退税额、免抵税额按各批次审核结果合计。",
        ),
    )
    return render_form(form)


def render_mts_approval(
    *,
    document_id: str,
    taxpayer: Taxpayer,
    period: str,
    declarations: Sequence[DeclarationFacts],
    issued_on: date,
) -> bytes:
    """外贸企业出口退税审批情况反馈表: each 免退税 batch of the period, declared vs approved."""
    approved = _sum(d.approved_refund or Decimal(0) for d in declarations)
    table = Table(
        caption="",
        headings=(
            "所属期",
            "批次",
            "明细条数",
            "计税金额",
            "申报退税额",
            "审批退税额",
            "审批状态",
            "审批日期",
        ),
        widths=(12, 8, 10, 18, 16, 16, 12, 15),
        rows=[
            (
                d.period,
                d.batch,
                str(d.record_count),
                money(Decimal(d.amounts.get("taxable_amount", "0"))),
                money(d.declared_refund),
                "—" if d.approved_refund is None else money(d.approved_refund),
                d.status_text,
                _ts(d.approved_at),
            )
            for d in declarations
        ],
        numeric=frozenset({2, 3, 4, 5}),
        total_row=(
            "合计",
            "",
            str(sum(d.record_count for d in declarations)),
            money(_sum(Decimal(d.amounts.get("taxable_amount", "0")) for d in declarations)),
            money(_sum(d.declared_refund for d in declarations)),
            money(approved),
            "",
            "",
        ),
    )
    form = Form(
        title="外贸企业出口退税审批情况反馈表",
        doc_no=f"文书编号：{document_id}",
        taxpayer_id=taxpayer.taxpayer_id,
        name=taxpayer.name,
        period=period,
        tax_office=taxpayer.tax_office,
        issued_on=issued_on,
        tables=[table],
        total_label="审批退税额合计",
        total=approved,
        notes=(
            "说明：审批退税额小于申报退税额的，未通过审批的明细可在“反馈下载”的审核结果反馈中查看原因，"
            "更正后在以后批次中重新申报。",
        ),
    )
    return render_form(form)


def render_approval_notice(
    *,
    document_id: str,
    taxpayer: Taxpayer,
    period: str,
    declarations: Sequence[DeclarationFacts],
    issued_on: date,
) -> bytes:
    """税务事项通知书（出口退税审批）: the period's approved declarations and the refund."""
    approved_decls = [d for d in declarations if d.approved_refund is not None]
    approved = _sum(d.approved_refund or Decimal(0) for d in approved_decls)
    table = Table(
        caption="",
        headings=(
            "申报业务",
            "批次",
            "申报退税额",
            "核准退税额",
            "通过条数",
            "未通过条数",
            "审批日期",
        ),
        widths=(28, 8, 16, 16, 10, 12, 15),
        rows=[
            (
                d.business_name,
                d.batch,
                money(d.declared_refund),
                money(d.approved_refund or Decimal(0)),
                str(d.lines_approved),
                str(d.lines_refused),
                _ts(d.approved_at),
            )
            for d in approved_decls
        ],
        numeric=frozenset({2, 3, 4, 5}),
        total_row=(
            "合计",
            "",
            money(_sum(d.declared_refund for d in approved_decls)),
            money(approved),
            str(sum(d.lines_approved for d in approved_decls)),
            str(sum(d.lines_refused for d in approved_decls)),
            "",
        ),
        empty_text="本所属期尚无审批完成的出口退（免）税申报。",
    )
    if approved_decls:
        intro = (
            f"{taxpayer.name}：\n\u3000\u3000你单位申报的{period_text(period)}所属期出口退（免）税，"
            f"经审核审批，核准退（免）税额{money(approved)}元，大写：{amount_in_words(approved)}。"
            "税款将由国库退至你单位备案的退税账户。明细如下："
        )
    else:
        intro = (
            f"{taxpayer.name}：\n\u3000\u3000你单位{period_text(period)}所属期尚无审批完成的"
            "出口退（免）税申报，审批完成后可重新开具本通知书。"
        )
    form = Form(
        title="税务事项通知书",
        subtitle="（出口退税审批）",
        doc_no=f"文书编号：{document_id}",
        taxpayer_id=taxpayer.taxpayer_id,
        name=taxpayer.name,
        period=period,
        tax_office=taxpayer.tax_office,
        issued_on=issued_on,
        intro=intro,
        tables=[table],
        total_label="核准退税额",
        total=approved,
        notes=(
            "如对本通知事项不服，可自收到本通知之日起六十日内依法向上一级税务机关申请行政复议。",
        ),
    )
    return render_form(form)


# ---------------------------------------------------------------- storage


def documents_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "documents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_pdf(folder: Path, file_name: str, pdf: bytes) -> Path:
    """Write ``pdf`` as ``folder/file_name`` atomically: temp file, fsync, rename."""
    target = folder / file_name
    tmp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}-{file_name}"
    with tmp.open("wb") as fh:
        half = len(pdf) // 2
        fh.write(pdf[:half])
        fh.flush()
        fault_pause("document")  # fault-injection tests: a kill lands here
        fh.write(pdf[half:])
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(target)
    return target
