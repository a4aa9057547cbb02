"""Build the frozen application and its installer (``make dist``).

1. PyInstaller one-folder bundle from ``installer/tuishui.spec`` into ``dist/tuishui``.
2. The NSIS installer from ``installer/tuishui.nsi`` with ``makensis`` (on Linux this
   compiles the script around the Linux bundle, which checks it; the Windows installer
   is built by the Windows CI workflow).
3. Prints the sizes of the bundle and the installer.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import __version__  # noqa: E402

VERSION_INFO = """\
VSVersionInfo(
  ffi=FixedFileInfo(filevers=({v}, 0), prodvers=({v}, 0), mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('080404b0', [
      StringStruct('CompanyName', '出口退税客户端'),
      StringStruct('FileDescription', '出口退税客户端'),
      StringStruct('FileVersion', '{dotted}'),
      StringStruct('InternalName', 'tuishui'),
      StringStruct('OriginalFilename', 'tuishui.exe'),
      StringStruct('ProductName', '出口退税客户端'),
      StringStruct('ProductVersion', '{dotted}')])]),
    VarFileInfo([VarStruct('Translation', [2052, 1200])])
  ]
)
"""


def tree_size(path: Path) -> int:
    """Bytes on disk, each file once (the Linux bundle links some libraries twice)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def write_version_info() -> None:
    parts = [int(x) for x in __version__.split(".")[:3]]
    parts += [0] * (3 - len(parts))
    out = ROOT / "build" / "version_info.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        VERSION_INFO.format(v=", ".join(map(str, parts)), dotted=".".join(map(str, parts)) + ".0"),
        encoding="utf-8",
    )


def build_bundle() -> Path:
    write_version_info()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--distpath",
            str(ROOT / "dist"),
            "--workpath",
            str(ROOT / "build" / "pyinstaller"),
            str(ROOT / "installer" / "tuishui.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    return ROOT / "dist" / "tuishui"


def build_installer(bundle: Path) -> Path | None:
    makensis = shutil.which("makensis")
    if not makensis:
        print("makensis not found: skipping the installer (apt-get install nsis)")
        return None
    out = ROOT / "dist" / f"tuishui-setup-{__version__}.exe"
    subprocess.run(
        [
            makensis,
            "-V2",
            "-WX",
            f"-DVERSION={__version__}",
            f"-DSRCDIR={bundle}",
            f"-DOUTFILE={out}",
            str(ROOT / "installer" / "tuishui.nsi"),
        ],
        check=True,
        cwd=ROOT / "installer",
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-bundle", action="store_true", help="reuse dist/tuishui")
    args = parser.parse_args()
    bundle = ROOT / "dist" / "tuishui" if args.skip_bundle else build_bundle()
    installer = build_installer(bundle)
    print(f"bundle    {bundle}: {mib(tree_size(bundle))}")
    if installer:
        print(f"installer {installer}: {mib(installer.stat().st_size)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
