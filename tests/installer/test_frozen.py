"""The frozen bundle (``make dist``) checks itself; skipped until dist/tuishui exists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BUNDLE = Path(__file__).resolve().parents[2] / "dist" / "tuishui"
EXE = BUNDLE / ("tuishui.exe" if sys.platform == "win32" else "tuishui")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not EXE.is_file(), reason="no frozen bundle: run `make dist` first"),
]


def test_frozen_self_test(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    done = subprocess.run(
        [str(EXE), "--self-test", "--home", str(tmp_path / "home")],
        env=env, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "自检通过" in done.stdout


def test_bundle_leaves_out_what_the_app_does_not_use() -> None:
    files = {p.relative_to(BUNDLE).as_posix().lower() for p in BUNDLE.rglob("*")}
    for unused in ("opengl32sw", "/platformthemes/", "/tls/", "qt6quick", "qt6qml", "/pil/"):
        assert not [f for f in files if unused in f], unused
    assert any(f.endswith("notosanssc-gb2312.ttf") for f in files)  # the platform's PDF font
