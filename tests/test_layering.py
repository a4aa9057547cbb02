"""The core stays Qt-free (architecture.md rule 1): scan the imports of app/ and server_stub/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def test_app_and_stub_never_import_qt_or_ui() -> None:
    bad = [
        (f, m)
        for pkg in ("app", "server_stub")
        for f, m in imported_modules(pkg)
        if top(m) in {"PySide6", "shiboken6", "ui"}
    ]
    assert bad == []


def test_stub_imports_only_the_declaration_core_of_app() -> None:
    bad = [
        (f, m)
        for f, m in imported_modules("server_stub")
        if top(m) == "app" and not (m == "app.declaration" or m.startswith("app.declaration."))
    ]
    assert bad == []


def test_declaration_core_is_pure() -> None:
    """app/declaration is shared with the server: no HTTP, no client state."""
    bad = [
        (f, m)
        for f, m in imported_modules("app/declaration")
        if top(m) in {"requests", "keyring", "PySide6", "fastapi", "platformdirs"}
        or (top(m) == "app" and not m.startswith("app.declaration"))
    ]
    assert bad == []


def test_the_scanner_sees_imports(tmp_path: Path) -> None:
    """Guard against a scanner that finds nothing and so always passes."""
    mods = [m for _, m in imported_modules("tests")]
    assert "ast" in mods and "keyring" in mods
