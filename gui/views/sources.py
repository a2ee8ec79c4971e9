"""Sources: what was read (file, sheet, table, rows, problems), and the welcome page.

Before anything is open the page invites the user to open files (dialog, drag and drop, recent
files) or the demo portfolio. Afterwards it lists each recognised table with its mapping
confidence and problem count; "Edit column mapping…" opens the mapping dialog.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from ..models import FilterableTable

SOURCE_COLUMNS = ["file", "sheet", "table", "rows", "rows_set_aside", "problems", "confidence", "layout",
                  "mapped_columns", "unmapped", "folder"]


def sources_frame(dataset) -> pd.DataFrame:
    """One row per recognised table (from ``Dataset.sources``) with its problem count."""
    rows = []
    problems = list(getattr(dataset, "problems", []) or [])
    for s in getattr(dataset, "sources", []) or []:
        n = sum(1 for p in problems if p.file and _same_file(p.file, s.file) and (p.sheet in (None, s.sheet))
                and getattr(p.severity, "value", p.severity) != "info")
        rows.append({
            "file": Path(s.file).name, "folder": str(Path(s.file).parent), "sheet": s.sheet or "", "table": s.table, "rows": s.rows,
            "rows_set_aside": s.rows_set_aside, "problems": n, "confidence": s.confidence,
            "layout": s.layout, "mapped_columns": ", ".join(f"{k} ← {v}" for k, v in s.mapping.items()),
            "unmapped": ", ".join(map(str, s.unmapped)),
        })
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS)


def _same_file(a: str, b: str) -> bool:
    from pathlib import Path

    return Path(a).name == Path(b).name


class SourcesView(QWidget):
    open_files = Signal()
    open_demo = Signal()
    edit_mapping = Signal()
    open_recent = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.stack = QStackedWidget(self)
        # welcome ------------------------------------------------------------------------------
        welcome = QWidget(self)
        wl = QVBoxLayout(welcome)
        wl.addStretch(1)
        title = QLabel("<h2>Welcome to cs-desk</h2>"
                       "<p>Open last month's exports from your CRM, billing, product analytics, support "
                       "and survey tools (xlsx, xlsm or csv, several at once), or drop them on this "
                       "window.<br>Not sure where to start? Open the demo portfolio: a made-up SaaS "
                       "company with every table cs-desk understands.</p>", welcome)
        title.setWordWrap(True)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setTextFormat(Qt.TextFormat.RichText)
        wl.addWidget(title)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.demo_button = QPushButton("Open demo portfolio", welcome)
        self.demo_button.setDefault(True)
        self.open_button = QPushButton("Open files…", welcome)
        self.demo_button.clicked.connect(self.open_demo)
        self.open_button.clicked.connect(self.open_files)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        wl.addLayout(buttons)
        self.recent_box = QVBoxLayout()
        wl.addLayout(self.recent_box)
        wl.addStretch(2)
        # loaded -------------------------------------------------------------------------------
        loaded = QWidget(self)
        ll = QVBoxLayout(loaded)
        top = QHBoxLayout()
        self.summary = QLabel("", loaded)
        self.summary.setWordWrap(True)
        top.addWidget(self.summary, 1)
        self.mapping_button = QPushButton("Edit column mapping…", loaded)
        self.mapping_button.clicked.connect(self.edit_mapping)
        more = QPushButton("Open other files…", loaded)
        more.clicked.connect(self.open_files)
        top.addWidget(self.mapping_button)
        top.addWidget(more)
        ll.addLayout(top)
        self.table = FilterableTable(parent=loaded)
        self.table.model.formatters["confidence"] = lambda v: f"{float(v):.0%}"
        self.table.model.cell_colour = self._cell_colour
        ll.addWidget(self.table, 1)
        self.stack.addWidget(welcome)
        self.stack.addWidget(loaded)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def _cell_colour(self, row: int, column: str):
        from PySide6.QtGui import QColor

        frame = self.table.model.frame
        if column == "problems" and frame["problems"].iat[row] > 0:
            return QColor(255, 224, 178)
        if column == "confidence" and float(frame["confidence"].iat[row]) < 0.8:
            return QColor(255, 236, 179)
        return None

    def set_recent(self, recent: list[list[str]]) -> None:
        while self.recent_box.count():
            item = self.recent_box.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        if not recent:
            return
        label = QLabel("<b>Recent</b>", self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recent_box.addWidget(label)
        from pathlib import Path

        for paths in recent[:5]:
            text = ", ".join(Path(p).name for p in paths)
            b = QPushButton(text, self)
            b.setFlat(True)
            b.setToolTip("\n".join(paths))
            b.clicked.connect(lambda _=False, p=paths: self.open_recent.emit(p))
            self.recent_box.addWidget(b, 0, Qt.AlignmentFlag.AlignHCenter)

    def set_dataset(self, dataset, paths: list[str]) -> None:
        frame = sources_frame(dataset)
        self.table.set_frame(frame)
        tables = sorted(set(frame["table"]))
        n_problems = sum(1 for p in dataset.problems if getattr(p.severity, "value", p.severity) != "info")
        self.summary.setText(
            f"<b>{len(paths)} file(s)</b>, {len(frame)} table(s) recognised: {', '.join(tables) or 'none'}. "
            f"{n_problems} problem(s) found (see Problems).")
        self.stack.setCurrentIndex(1)

    def show_welcome(self) -> None:
        self.stack.setCurrentIndex(0)
