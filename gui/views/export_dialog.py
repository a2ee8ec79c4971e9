"""Export report: choose a folder and formats (xlsx, pdf); the report is written by
``cs_desk.report`` on the worker thread with a progress bar and a Cancel button."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout)

FORMATS = (("xlsx", "KPI workbook (.xlsx)"), ("pdf", "Portfolio report (.pdf)"))


class ExportDialog(QDialog):
    export_requested = Signal(str, tuple)  # folder, formats
    cancel_requested = Signal()

    def __init__(self, folder: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.folder = QLineEdit(folder, self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.checks = {}
        form = QFormLayout()
        form.addRow("Folder:", row)
        for fmt, label in FORMATS:
            box = QCheckBox(label, self)
            box.setChecked(True)
            self.checks[fmt] = box
            form.addRow("" if fmt != "xlsx" else "Formats:", box)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.hide()
        self.export_button.clicked.connect(self._export)
        self.cancel_button.clicked.connect(self._cancel)
        self.close_button.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.running = False
        self.written: list[Path] = []
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 45)

    def formats(self) -> tuple[str, ...]:
        return tuple(f for f, box in self.checks.items() if box.isChecked())

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export into folder", self.folder.text())
        if path:
            self.folder.setText(path)

    def _export(self) -> None:
        if not self.formats():
            self.status.setText("Choose at least one format.")
            return
        self.running = True
        self.export_button.setEnabled(False)
        self.status.setText("Starting…")
        self.progress.setValue(0)
        self.export_requested.emit(self.folder.text(), self.formats())

    def _cancel(self) -> None:
        if self.running:
            self.cancel_requested.emit()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    # called by the main window ---------------------------------------------------------------
    def on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if text:
            self.status.setText(text)

    def on_done(self, written) -> None:
        self.running = False
        self.written = [Path(p) for p in written]
        self.progress.setValue(1000)
        self.status.setText("Written:\n" + "\n".join(str(p) for p in self.written))
        self._finished()

    def on_error(self, message: str) -> None:
        self.running = False
        self.status.setText(f"<span style='color:#c62828'>Export failed: {message}</span>")
        self._finished()
        self.export_button.setEnabled(True)

    def on_cancelled(self) -> None:
        self.running = False
        self.status.setText("Cancelled; nothing was left half-written.")
        self.export_button.setEnabled(True)

    def _finished(self) -> None:
        self.cancel_button.hide()
        self.close_button.show()
