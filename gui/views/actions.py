"""Actions: the playbook action list (``cs_desk.alerts.actions``): account, owner, priority,
reason and suggested action; filterable; double-click opens the account."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..models import FilterableTable

PRIORITY_COLOURS = {"high": QColor(255, 205, 210), "urgent": QColor(255, 205, 210), "1": QColor(255, 205, 210),
                    "medium": QColor(255, 243, 224), "2": QColor(255, 243, 224)}


class ActionsView(QWidget):
    open_account = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No actions yet: open a portfolio.", self)
        self.summary.setWordWrap(True)
        self.table = FilterableTable("Filter actions (owner, account, reason … or column:text)", self)
        self.table.model.row_colour = self._colour
        self.table.row_activated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def _colour(self, row):
        frame = self.table.model.frame
        if "priority" not in frame:
            return None
        return PRIORITY_COLOURS.get(str(frame["priority"].iat[row]).lower())

    def set_actions(self, actions: pd.DataFrame | None, note: str = "") -> None:
        if actions is None:
            self.table.set_frame(pd.DataFrame())
            self.summary.setText(note or "No playbook actions: this cs-desk has no playbooks, or no health model "
                                         "is loaded.")
            return
        self.table.set_frame(actions.reset_index(drop=True))
        owners = actions["owner"].nunique() if "owner" in actions else 0
        self.summary.setText(f"{len(actions):,} action(s)" + (f" for {owners} owner(s)" if owners else "")
                             + ". Double-click a row to open the account.")

    def _activated(self, row: int) -> None:
        frame = self.table.model.frame
        if "account_id" in frame:
            self.open_account.emit(str(frame["account_id"].iat[row]))
