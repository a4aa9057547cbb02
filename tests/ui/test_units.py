"""Formatting, the background helper, the coalescer and every table model (qtmodeltester)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.errors import PlatformError
from app.store import DetailFilter, LocalStore
from tests.ui import fakecore
from ui import formatting as fmt
from ui.models import CHIP_ROLE, DeclaredDetailModel, ListModel
from ui.tabs.declare import DOUBT_COLUMNS, declaration_columns
from ui.tasks import Coalescer, Tasks, error_text


def test_numbers_dates_and_periods_look_like_the_guide() -> None:
    assert fmt.money(Decimal("63900")) == "63,900.00"
    assert fmt.money(Decimal("1234567.885")) == "1,234,567.89"  # half up
    assert fmt.rate(Decimal("0.13")) == "13%"
    assert fmt.rate("0.13,0.09") == "13%、9%"
    assert fmt.rate(Decimal("0.095")) == "9.5%"
    assert fmt.period("202610") == "2026年10月"
    assert fmt.period_long("202603") == "2026年03月"
    assert fmt.day(fakecore.NOW) == "2026-11-05"
    assert fmt.moment(fakecore.NOW.replace(tzinfo=None)) == "2026-11-05 10:20"
    assert fmt.eta(420) == "约 7 分钟"


def test_status_chips_carry_words_and_colours() -> None:
    assert fmt.chip("queued").text == "排队中"
    assert fmt.chip("audited", 1).text == "有可挑过疑点"
    assert fmt.chip("audited", 2).fg == fmt.RED[1]
    assert fmt.chip("pending_confirm").outline
    assert fmt.chip("withdrawn").struck


def test_tasks_deliver_on_the_gui_thread_with_progress(qtbot: Any) -> None:
    tasks = Tasks()
    main_thread = threading.current_thread()
    seen: dict[str, Any] = {}

    def work(progress: Any) -> int:
        seen["worker"] = threading.current_thread()
        progress(1, 2)
        return 42

    def done(value: int) -> None:
        seen["value"] = value
        seen["done_thread"] = threading.current_thread()

    tasks.run(work, done, progress=lambda d, t: seen.setdefault("progress", (d, t)))
    qtbot.waitUntil(lambda: "value" in seen)
    assert seen["value"] == 42 and seen["progress"] == (1, 2)
    assert seen["worker"] is not main_thread and seen["done_thread"] is main_thread


def test_core_errors_reach_on_error_with_their_chinese_detail(qtbot: Any) -> None:
    tasks = Tasks()
    caught: list[BaseException] = []

    def fail() -> None:
        raise PlatformError(409, "NOT_CONVERTIBLE", "有不可挑过疑点，不能转正式申报。")

    tasks.run(fail, None, lambda exc: caught.append(exc) or True)
    qtbot.waitUntil(lambda: bool(caught))
    assert error_text(caught[0]) == "有不可挑过疑点，不能转正式申报。"
    assert "程序内部出错" in error_text(ValueError("x"))


def test_coalescer_turns_a_burst_into_one_refresh(qtbot: Any) -> None:
    coalescer = Coalescer(20)
    fired: list[set[str]] = []
    coalescer.fired.connect(fired.append)
    for kind in ("declaration", "notice", "declaration") * 50:
        coalescer.request(kind)
    qtbot.waitUntil(lambda: bool(fired))
    qtbot.wait(40)
    assert fired == [{"declaration", "notice"}]


@pytest.mark.parametrize("stage", ["pre", "formal"])
def test_declaration_model(qtmodeltester: Any, stage: str) -> None:
    model = ListModel(declaration_columns(stage))
    model.set_rows(fakecore.sample_declarations())
    qtmodeltester.check(model)
    status_col = [c.title for c in model.columns].index("审核状态")
    assert model.index(0, status_col).data(CHIP_ROLE).text == "排队中"


def test_doubt_model(qtmodeltester: Any) -> None:
    model = ListModel(DOUBT_COLUMNS)
    model.set_rows(fakecore.DOUBTS)
    qtmodeltester.check(model)
    assert model.index(0, 1).data() == "不可挑过"


def test_doubt_codes_and_columns_read_in_chinese(qtmodeltester: Any) -> None:
    model = ListModel(DOUBT_COLUMNS)
    model.set_rows([fakecore.Doubt("0028", "mdt_ckmx", "BGD_WDZXX", "E", False, "出口报关单",
                                   "ckbgdh", "出口货物报关单号[110820260000000135099]无电子信息")])  # fmt: skip
    qtmodeltester.check(model)
    titles = [c.title for c in model.columns]
    code = model.index(0, titles.index("疑点"))
    assert code.data() == "BGD_WDZXX　出口货物报关单号无电子信息"
    field = model.index(0, titles.index("数据表 / 字段"))
    assert field.data() == "出口报关单号"
    assert "ckbgdh" in field.data(Qt.ItemDataRole.ToolTipRole)


def test_money_is_right_aligned_with_separators(qtmodeltester: Any) -> None:
    model = ListModel(declaration_columns("formal"))
    model.set_rows(fakecore.sample_declarations()[3:5])
    col = [c.title for c in model.columns].index("申报退税额（元）")
    assert model.index(1, col).data() == "1,234,567.89"
    assert model.index(1, col).data(Qt.ItemDataRole.TextAlignmentRole) & int(
        Qt.AlignmentFlag.AlignRight
    )
    assert "元" in model.headerData(col, Qt.Orientation.Horizontal)


def test_declared_detail_model_is_lazy_and_sorts_in_sql(qtmodeltester: Any, tmp_path: Any) -> None:
    store = LocalStore(tmp_path / "s.sqlite3")
    store.replace_declared_details(fakecore.details(3000))
    model = DeclaredDetailModel()
    model.set_store(store)
    assert model.rowCount() == 3000
    assert model.index(2999, 3).data() == "3000"  # jump to the end
    model.sort(9, Qt.SortOrder.DescendingOrder)  # 美元离岸价
    top = Decimal(model.index(0, 9).data().replace(",", ""))
    assert top == max(d.fob_usd for d in fakecore.details(3000))
    model.set_filter(DetailFilter(entry_no="53012026000000001"))
    assert model.rowCount() == 10  # entries ...010 to ...019
    small = DeclaredDetailModel()
    store2 = LocalStore(tmp_path / "t.sqlite3")
    store2.replace_declared_details(fakecore.details(30))
    small.set_store(store2)
    qtmodeltester.check(small)
    store.close()
    store2.close()
