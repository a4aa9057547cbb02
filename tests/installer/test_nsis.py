"""The NSIS script compiles (``makensis``) around a stand-in bundle: the real bundle is
built by ``make dist``; this checks the script itself in seconds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app import __version__

SCRIPT = Path(__file__).resolve().parents[2] / "installer" / "tuishui.nsi"
MAKENSIS = shutil.which("makensis")


@pytest.mark.skipif(
    MAKENSIS is None, reason="makensis not installed (Debian: apt-get install nsis)"
)
def test_installer_script_compiles(tmp_path: Path) -> None:
    bundle = tmp_path / "tuishui"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    (bundle / "tuishui.exe").write_bytes(b"MZ stand-in for the frozen client")
    (bundle / "_internal" / "resources" / "style.qss").write_text("QWidget {}", encoding="utf-8")
    out = tmp_path / f"tuishui-setup-{__version__}.exe"
    assert MAKENSIS is not None
    done = subprocess.run(
        [MAKENSIS, "-V2", "-WX", f"-DVERSION={__version__}", f"-DSRCDIR={bundle}",
         f"-DOUTFILE={out}", str(SCRIPT)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_bytes()[:2] == b"MZ"
