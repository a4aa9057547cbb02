"""The self-test (``--self-test``) of the unfrozen app, also as a windowed app without a
console, and its failure path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from app.errors import LocalError
from ui.selftest import check_pdf, has_ink

ROOT = Path(__file__).resolve().parents[2]
# A child process keeps nothing in the developer's keyring.
ENV = {
    **os.environ,
    "QT_QPA_PLATFORM": "offscreen",
    "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
}
SELF_TEST = "from ui.selftest import main; sys.exit(main(sys.argv[1:]))"
NO_CONSOLE = "sys.stdout = sys.stderr = None; "  # as in a windowed build


def run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; " + code, *args],
        cwd=ROOT, env=ENV, capture_output=True, text=True, encoding="utf-8", timeout=60,
    )  # fmt: skip


@pytest.mark.slow
def test_self_test_passes_and_leaves_the_user_data_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run(SELF_TEST, "--self-test", "--home", str(home))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "自检通过" in done.stdout
    pdfs = list((home / "cache" / "self-test").rglob("受理通知-*.pdf"))
    assert len(pdfs) == 1 and str(pdfs[0]) in done.stdout
    # its own folder only: no enterprise data, settings or platform of the user's
    assert not (home / "data").exists() and not (home / "platform").exists()
    assert not (home / "settings.json").exists()
    assert "自检通过" in (home / "logs" / "app.log").read_text(encoding="utf-8")


@pytest.mark.slow
def test_self_test_without_a_console(tmp_path: Path) -> None:
    """A windowed build has sys.stdout and sys.stderr None: the result goes to the log."""
    home = tmp_path / "home"
    done = run(NO_CONSOLE + SELF_TEST, "--home", str(home))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    assert "自检通过" in (home / "logs" / "app.log").read_text(encoding="utf-8")


def test_self_test_failure_names_the_step(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").write_text("a file where the cache folder should be", encoding="utf-8")
    failed = run(SELF_TEST, "--home", str(home))
    assert failed.returncode == 1
    assert "自检失败（启动内置演示平台）" in failed.stderr
    assert "自检失败（启动内置演示平台）" in (home / "logs" / "app.log").read_text(encoding="utf-8")


def test_check_pdf_refuses_what_is_not_a_pdf(qapp: object, tmp_path: Path) -> None:
    fake = tmp_path / "受理通知.pdf"
    fake.write_bytes(b"%PDF-1.7 this is not really a PDF")
    with pytest.raises(LocalError, match="自检失败（打开PDF）"):
        check_pdf(fake)


def test_has_ink() -> None:
    image = QImage(40, 30, QImage.Format.Format_ARGB32)
    image.fill(0)
    assert not has_ink(image)
    image.setPixel(39, 29, 0xFF000000)
    assert has_ink(image)
