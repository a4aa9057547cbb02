"""The item data roles our table models answer and our views ask for.

Plain numbers (``Qt.ItemDataRole.UserRole`` is 256), so that a window without a table
need not build PySide6's ``Qt`` namespace (~11 ms) while it opens (P1).
"""

from __future__ import annotations

USER_ROLE = 256  # Qt.ItemDataRole.UserRole

CHIP_ROLE = USER_ROLE + 1
"""A :class:`ui.formatting.Chip` for status columns (painted by ``ChipDelegate``)."""
ROW_ROLE = USER_ROLE + 2
"""The row's object."""
SORT_ROLE = USER_ROLE + 3
"""A value that sorts right (Decimal, date …) for ``QSortFilterProxyModel``."""
