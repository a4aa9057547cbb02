"""Each tab of the main window with real data (the fake core's fixed data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton

from app.paths import AppPaths
from app.settings import Settings
from tests.ui.conftest import open_main_window
from tests.ui.fakecore import FakeSession
from ui.mainwindow import TAB_TITLES
from ui.models import CHIP_ROLE
from ui.pdfviewer import PdfViewer
from ui.tabs import declare


def idle(qtbot: Any, main: Any) -> None:
    qtbot.waitUntil(lambda: main.context.tasks.pending() == 0)


def informed(window: Any) -> list[str]:
    """Texts of the non-blocking information boxes now open."""
    return [box.text() for box in window.findChildren(QMessageBox, "inform")]


def select(panel: Any, pred: Any) -> Any:
    assert panel.select_where(pred)
    return panel.current_row()


def test_title_bar_names_the_enterprise_and_shortcuts_switch_tabs(qtbot: Any, window: Any) -> None:
    assert window.enterprise_name.text() == "北京华辰精密机械有限公司"
    assert "91110108MA01HC7K1M" in window.enterprise_id.text()
    assert [window.tabs.tabText(i) for i in range(7)] == list(TAB_TITLES)
    window.show()
    qtbot.waitExposed(window)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 3


def test_desktop_cards_show_counts_enterprise_and_todo(
    qtbot: Any, window: Any, fake_session: Any
) -> None:
    desk = window.desktop
    assert desk.info_labels["tax_office"].text().startswith("国家税务总局北京市海淀区税务局")
    assert desk.stat_labels["announcements"].text() == "2"  # unread 通知公告
    todo = [desk.todo.itemAt(i).widget().text() for i in range(desk.todo.count())]
    assert any("待确认申报" in t for t in todo) and any("排队审核" in t for t in todo)
    desk.contact_phone.setText("12345")
    desk.save_contact()
    assert "11 位" in desk.contact_error.text()
    desk.contact_phone.setText("13912345678")
    desk.save_contact()
    qtbot.waitUntil(lambda: ("contact", ("王会计", "13912345678")) in fake_session.calls)


def test_desktop_count_tiles_open_their_tab(qtbot: Any, window: Any) -> None:
    window.show()
    qtbot.waitExposed(window)
    for key, tab in (("progress", "退税进度"), ("reminders", "退税提醒")):
        window.tabs.setCurrentIndex(0)
        tile = window.desktop.stat_tiles[key]
        qtbot.mouseClick(tile, Qt.MouseButton.LeftButton, pos=tile.rect().center())
        assert window.tabs.tabText(window.tabs.currentIndex()) == tab


def test_desktop_reflows_to_one_column_when_narrow(qtbot: Any, window: Any) -> None:
    window.show()
    window.resize(900, 700)
    qtbot.waitUntil(lambda: window.desktop._columns == 1)
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window.desktop._columns == 2)


def test_pre_declarations_show_rank_chips_and_doubts_in_place(qtbot: Any, window: Any) -> None:
    pre = window.declare.pre
    queued = select(pre.panel, lambda d: d.id == "d1")
    assert queued.queue_position == 12
    rank_col = [c.title for c in pre.model.columns].index("审核排位")
    row = pre.panel.view.currentIndex().row()
    assert pre.panel.view.model().index(row, rank_col).data() == "第 12 位"
    assert pre.panel.buttons["删除"].isEnabled()
    assert not pre.panel.buttons["转正式申报"].isEnabled()
    select(pre.panel, lambda d: d.id == "d2")
    button = pre.panel.buttons["转正式申报"]
    assert not button.isEnabled() and "不可挑过" in button.toolTip()
    qtbot.waitUntil(lambda: pre.doubts.model.rowCount() == 3)
    pre.doubts.kind.setCurrentIndex(1)  # 不可挑过 only
    assert pre.doubts.model.rowCount() == 1
    assert pre.doubts.model.index(0, 1).data(CHIP_ROLE).text == "不可挑过"
    assert "海关信息" in pre.doubts.model.index(0, 5).data()


def test_convert_then_confirm_shows_the_ledger_first(
    qtbot: Any, window: Any, fake_session: Any
) -> None:
    pre = window.declare.pre
    d3 = select(pre.panel, lambda d: d.id == "d3")
    pre.panel.buttons["转正式申报"].click()
    qtbot.waitUntil(lambda: ("convert", "d3") in fake_session.calls)
    qtbot.waitUntil(lambda: window.declare.nav.stack.currentWidget() is window.declare.formal)
    formal = window.declare.formal
    qtbot.waitUntil(
        lambda: formal.panel.current_row() is not None and formal.panel.current_row().id == "fd3"
    )
    formal.panel.buttons["确认申报"].click()
    dialog = formal.findChild(declare.ConfirmDialog)
    shown = [w.text() for w in dialog.findChildren(QLabel)]
    assert d3.sha256 in shown and "2026年10月" in shown and "50" in shown
    dialog.findChild(QPushButton, "confirm").click()
    qtbot.waitUntil(lambda: ("confirm", "fd3") in fake_session.calls)
    qtbot.waitUntil(lambda: "申报数据确认成功" in informed(window))


def test_withdraw_and_acceptance_document(
    qtbot: Any, window: Any, fake_session: Any, messages: Any
) -> None:
    window.declare.nav.show_page(1)
    formal = window.declare.formal
    formal.views.setCurrentIndex(0)
    select(formal.panel, lambda d: d.id == "d4")
    assert not formal.panel.buttons["受理文书"].isEnabled()
    assert "受理后" in formal.panel.buttons["受理文书"].toolTip()
    formal.panel.buttons["撤回"].click()
    qtbot.waitUntil(lambda: "正式申报数据已撤回" in informed(window))
    formal.views.setCurrentIndex(2)  # 已受理申报数据
    select(formal.panel, lambda d: d.id == "d5")
    assert not formal.panel.buttons["撤回"].isEnabled()
    assert formal.panel.buttons["撤回"].toolTip() == "已确认的申报数据无法撤回"
    formal.panel.buttons["受理文书"].click()
    qtbot.waitUntil(lambda: bool(PdfViewer._open))
    viewer = PdfViewer._open[-1]
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.document.pageCount() == 2)
    viewer.close()


def test_upload_runs_the_local_check_first(
    qtbot: Any, window: Any, fake_session: Any, tmp_path: Path
) -> None:
    package = tmp_path / "mdt.zip"
    package.write_bytes(b"PK")
    window.declare.upload("pre", package)
    dialog = window.declare.findChild(declare.UploadDialog)
    qtbot.waitUntil(lambda: dialog.start.isEnabled())
    assert "不可挑过 1 条" in dialog.check.text() and "BGD_WDZXX" in dialog.check.text()
    dialog.start.click()
    qtbot.waitUntil(lambda: ("upload", (package, "pre")) in fake_session.calls)
    qtbot.waitUntil(lambda: window.declare.pre.model.rowCount() == 4)


def test_feedback_jobs_request_by_month(qtbot: Any, window: Any, fake_session: Any) -> None:
    page = window.declare.feedback
    window.declare.nav.show_page(2)
    qtbot.waitUntil(lambda: page.type.count() > 0)
    assert page.category.currentText() == "审核结果反馈"
    page.request()
    qtbot.waitUntil(lambda: any(c[0] == "job" for c in fake_session.calls))
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    select(page.panel, lambda j: j.id == "j1")
    assert "组装" in page.panel.buttons["下载"].toolTip()


def test_documents_issue_opens_the_viewer(qtbot: Any, window: Any, fake_session: Any) -> None:
    tab = window.documents
    qtbot.waitUntil(lambda: tab.type.count() == 2)
    tab.issue()
    qtbot.waitUntil(
        lambda: any(c[0] == "issue" for c in fake_session.calls) and bool(PdfViewer._open)
    )
    for viewer in list(PdfViewer._open):
        qtbot.addWidget(viewer)
        viewer.close()


def test_progress_chart_sums_by_month(qtbot: Any, window: Any) -> None:
    tab = window.progress
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2)
    march = next(d for d in tab.chart.data if d[0].endswith("03"))
    assert (str(march[1]), str(march[2])) == ("63900.00", "60000.00")
    assert "75,900.50" in tab.totals.text()
    image = tab.chart.grab()
    assert not image.isNull()


def test_reminders_have_five_categories_and_mark_read(
    qtbot: Any, window: Any, fake_session: Any
) -> None:
    tab = window.reminders
    titles = [tab.nav.list.item(i).text() for i in range(5)]
    assert titles[0] == "通知公告（2）" and titles[1].startswith("日常提醒")
    page = tab.pages[0]
    unread = select(page.panel, lambda n: not n.read)
    qtbot.waitUntil(
        lambda: fake_session.store.notices("announcement", unread_only=True).__len__() == 1
    )
    qtbot.waitUntil(lambda: tab.nav.list.item(0).text() == "通知公告（1）")
    assert unread.title in page.body.toPlainText()


def test_queries_details_and_instant_rate_search(qtbot: Any, window: Any) -> None:
    q = window.queries
    qtbot.waitUntil(lambda: q.details.model.rowCount() == 40)
    assert q.details.count.text() == "共 40 条"
    q.details.q.setText("商品1")
    q.details.reload()
    qtbot.waitUntil(lambda: q.details.model.rowCount() == 11)
    qtbot.waitUntil(lambda: q.rates.ready)
    for typed in ("滚", "滚动"):  # per keystroke (keyClicks cannot type Chinese)
        q.rates.panel.filter.setText(typed)
    assert q.rates.model.rowCount() == 50
    assert all("滚动轴承" in q.rates.model.row(i).name for i in range(50))
    assert q.rates.model.index(0, 5).data() in ("13%", "9%")
    qtbot.waitUntil(lambda: "2026B" in q.rates.version.text())
    qtbot.waitUntil(lambda: q.commodities.model.rowCount() == 1)
    assert q.filing.sections is not None and q.filing.sections.count() == 5


def test_services_calendar_guides_and_downloads(qtbot: Any, window: Any) -> None:
    s = window.services
    qtbot.waitUntil(lambda: bool(s.calendar.months))
    assert "申报期" in s.calendar.countdown.text()
    qtbot.waitUntil(lambda: "<table" in s.guides.body.toHtml() or s.guides.body.toPlainText() != "")
    qtbot.waitUntil(lambda: s.downloads.model.rowCount() == 1)
    assert s.downloads.model.index(0, 4).data() == "申报系统（当前版本）"


def test_offline_banner_shows_and_clears_itself(qtbot: Any, window: Any) -> None:
    window.context._on_state("offline", "无法连接平台。")
    assert window.banner.isVisibleTo(window) and "自动更新" in window.banner_text.text()
    assert window.state_label.text() == "离线"
    window.context._on_state("connected", "")
    assert not window.banner.isVisibleTo(window) and window.state_label.text() == "已连接"


@pytest.mark.parametrize(
    "status,expected", [("audited", "预申报审核完成"), ("accepted", "税务机关已受理")]
)
def test_transitions_notify(
    qtbot: Any, window: Any, fake_session: Any, status: str, expected: str
) -> None:
    from dataclasses import replace

    notes: list[str] = []
    window.context.notify.connect(lambda title, _msg: notes.append(title))
    d = fake_session.store.declaration("d1" if status == "audited" else "d4")
    fake_session.store.upsert_declarations([replace(d, status=status, result=0)])
    window.context.request("declaration")
    qtbot.waitUntil(lambda: expected in notes)


def test_window_remembers_tab_geometry_and_column_widths(
    qtbot: Any, window: Any, paths: Any
) -> None:

    window.tabs.setCurrentIndex(5)
    window.declare.pre.panel.view.horizontalHeader().resizeSection(0, 222)
    window.save_window()
    saved = Settings.load(paths)
    assert saved.window_state == "5" and saved.window_geometry
    assert "pre" in saved.table_states


def test_external_info_dialog_lists_customs_lines(qtbot: Any, window: Any) -> None:
    from ui.tabs.desktop import EInfoDialog

    dialog = EInfoDialog(window.context, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: window.context.tasks.pending() == 0)
    assert dialog.kind.count() == 1  # a 生产企业 sees no invoice e-info
    assert dialog.model.columns[0].title == "报关单号"
    assert "请过几天再查" in "".join(w.text() for w in dialog.findChildren(QLabel))


def test_a_session_opened_offline_does_not_reach_for_the_network(
    qtbot: Any, paths: AppPaths, fake_session: FakeSession
) -> None:
    """Opened from the local store because the platform is unreachable: no refresh, no sync."""
    fake_session.offline = True
    main = open_main_window(qtbot, paths, fake_session)
    qtbot.waitUntil(lambda: main.context.tasks.pending() == 0)
    assert ("refresh_all", None) not in fake_session.calls
    assert main.context._sync is None


def test_a_download_in_the_status_bar_can_be_cancelled(
    qtbot: Any, window: Any, fake_session: Any, messages: list[tuple[str, str]]
) -> None:
    """取消 next to the status bar's progress stops a feedback download: the download
    stops at its next chunk, nothing is said as an error, the bar says 已取消."""
    import threading

    chunks: list[int] = []
    stopped = threading.Event()

    def slow_download(declaration_id: str, progress: Any = None) -> Path:
        try:
            for i in range(1, 2001):  # 20 s if never cancelled
                progress(i, 2000)
                chunks.append(i)
                threading.Event().wait(0.01)
        except BaseException:
            stopped.set()
            raise
        raise AssertionError("the download was not cancelled")

    fake_session.fetch_feedback = slow_download
    pre = window.declare.pre
    pre.download(pre.model.rows[0])
    qtbot.waitUntil(lambda: window.status_cancel.isVisible() and len(chunks) > 3)
    assert window.status_text.text() == "正在下载并解密反馈…"

    window.status_cancel.click()
    qtbot.waitUntil(lambda: window.context.tasks.pending() == 0)
    assert stopped.is_set() and len(chunks) < 2000
    assert window.status_text.text() == "已取消" and not window.status_cancel.isVisible()
    assert messages == []  # a cancel is not an error


def test_a_cancelled_feedback_job_is_not_fetched_again_by_itself(
    qtbot: Any, window: Any, fake_session: Any, messages: list[tuple[str, str]]
) -> None:
    """A ready 反馈数据 job downloads by itself; once the accountant cancels it, the next
    sync round leaves it alone until 下载 is clicked."""
    import threading

    from app.models import FeedbackJob

    started: list[str] = []

    def slow_job(job_id: str, progress: Any = None) -> Path:
        started.append(job_id)
        for i in range(1, 2001):
            progress(i, 2000)
            threading.Event().wait(0.01)
        raise AssertionError("the download was not cancelled")

    fake_session.fetch_job = slow_job
    window.declare.nav.show_page(2)
    ready = FeedbackJob("j1", "audit_result", "mdt_result", "202610", "ready")
    fake_session.store.upsert_feedback_jobs([ready])
    window.context.request("feedback_job")
    qtbot.waitUntil(lambda: window.status_cancel.isVisible())
    window.status_cancel.click()
    qtbot.waitUntil(lambda: window.context.tasks.pending() == 0)

    window.context.request("feedback_job")  # the next sync round
    qtbot.wait(400)
    qtbot.waitUntil(lambda: window.context.tasks.pending() == 0)
    assert started == ["j1"] and messages == []
    assert window.declare.feedback.model.rowCount() == 1
