"""Problems: every data problem in one table with fixed columns (``cs_desk.problems_frame``)."""
from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..models import FilterableTable

SEVERITY_COLOURS = {"error": QColor(255, 205, 210), "warning": QColor(255, 243, 224)}
COLUMNS = ["severity", "file", "sheet", "row", "column", "code", "value", "table", "message"]


class ProblemsView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = FilterableTable("Filter problems (text, or column:text, e.g. code:bad_date)", self)
        self.table.model.row_colour = self._colour
        self.severity = QComboBox(self)
        self.severity.addItems(["all severities", "error", "warning", "info"])
        self.severity.currentTextChanged.connect(self._apply)
        self.summary = QLabel("No problems.", self)
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(QLabel("Show", self))
        top.addWidget(self.severity)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self._frame = None

    def _colour(self, row):
        sev = str(self.table.model.frame["severity"].iat[row])
        return SEVERITY_COLOURS.get(sev)

    def set_problems(self, problems) -> None:
        from cs_desk.problems import problems_frame

        frame = problems_frame(problems)
        frame = frame[[c for c in COLUMNS if c in frame.columns]]
        self._frame = frame
        counts = frame["severity"].value_counts().to_dict() if len(frame) else {}
        self.summary.setText(
            "No problems: every row was read." if frame.empty else
            ", ".join(f"{counts.get(s, 0)} {s}(s)" for s in ("error", "warning", "info") if counts.get(s))
            + ". Rows set aside are not in any result; fix them in the source file and reopen it.")
        self._apply()

    def _apply(self) -> None:
        if self._frame is None:
            return
        sev = self.severity.currentText()
        frame = self._frame if sev == "all severities" else self._frame[self._frame["severity"] == sev]
        self.table.set_frame(frame.reset_index(drop=True))

    def count(self) -> int:
        return 0 if self._frame is None else len(self._frame)
