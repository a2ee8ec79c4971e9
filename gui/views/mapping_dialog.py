"""Column mapping dialog: the auto-detected mapping of every sheet, editable.

Left: each sheet with the table it was recognised as and the confidence. Right: the table and
layout, one combo box per canonical field (required ones marked *), the unmapped columns, and a
live preview of the first rows exactly as cs-desk will read them (cleaned by the engine; cells
that would be set aside are listed under the preview). "Save as preset…" writes the same TOML
mapping file as ``cs-desk map --save``; on OK the mapping is used to (re)load the files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from ..models import FilterableTable

NOT_MAPPED = "— not mapped —"
IGNORE = "(not a table: skip)"


@dataclass
class SheetChoice:
    """The user's decision for one sheet (starts as the engine's recognition)."""

    raw: object  # cs_desk.io.readers.RawSheet
    recognition: object  # cs_desk.io.mapping.Recognition
    problems: list = field(default_factory=list)
    table: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    layout: str = "long"

    @property
    def label(self) -> str:
        name = Path(self.raw.file).name
        sheet = f" — {self.raw.sheet}" if self.raw.sheet else ""
        conf = getattr(self.recognition, "confidence", 0.0) or 0.0
        what = self.table or "not recognised"
        return f"{name}{sheet}\n    → {what}" + (f" ({conf:.0%})" if self.table else "")


def choices_from(found) -> list[SheetChoice]:
    """From ``cs_desk.io.inspect`` output: [(raw_sheet, recognition, problems), ...]."""
    out = []
    for item in found:
        raw, rec, problems = (list(item) + [None, None, None])[:3]
        if raw is None:
            continue
        table = getattr(rec, "table", None)
        out.append(SheetChoice(raw, rec, list(problems or []), table, dict(getattr(rec, "mapping", {}) or {}),
                               getattr(rec, "layout", "long") or "long"))
    return out


class MappingDialog(QDialog):
    mapping_saved = Signal(str)

    def __init__(self, found, mapping_file=None, parent=None, presets_folder=None):
        super().__init__(parent)
        self.presets_folder = Path(presets_folder) if presets_folder else None
        from cs_desk.schema import TABLES

        self.TABLES = TABLES
        self.setWindowTitle("Column mapping")
        self.choices = choices_from(found)
        self.mapping_file = mapping_file
        self.current: SheetChoice | None = None
        self._building = False

        self.sheets = QListWidget(self)
        for ch in self.choices:
            item = QListWidgetItem(ch.label, self.sheets)
            item.setToolTip(f"{ch.raw.file}" + (f" — sheet {ch.raw.sheet}" if ch.raw.sheet else ""))
        self.sheets.currentRowChanged.connect(self._show_sheet)

        self.table_box = QComboBox(self)
        self.table_box.addItem(IGNORE, None)
        for name, t in TABLES.items():
            self.table_box.addItem(f"{name} — {t.label}", name)
        self.table_box.currentIndexChanged.connect(self._table_changed)
        self.layout_label = QLabel("", self)
        self.confidence = QLabel("", self)
        self.fields_box = QGroupBox("Fields (* = required)", self)
        self.fields_form = QFormLayout(self.fields_box)
        self.field_combos: dict[str, QComboBox] = {}
        self.unmapped = QLabel("", self)
        self.unmapped.setWordWrap(True)
        self.preview = FilterableTable("Filter preview", self)
        self.preview_problems = QLabel("", self)
        self.preview_problems.setWordWrap(True)
        self.preview_problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        right = QWidget(self)
        rl = QVBoxLayout(right)
        head = QFormLayout()
        head.addRow("Table:", self.table_box)
        head.addRow("Layout:", self.layout_label)
        head.addRow("Confidence:", self.confidence)
        rl.addLayout(head)
        rl.addWidget(self.fields_box)
        rl.addWidget(self.unmapped)
        rl.addWidget(QLabel("<b>Preview: the first rows as cs-desk will read them</b>", self))
        rl.addWidget(self.preview, 1)
        rl.addWidget(self.preview_problems)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.sheets)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        em = self.fontMetrics().horizontalAdvance("M")
        splitter.setSizes([em * 26, em * 84])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use this mapping")
        self.save_button = QPushButton("Save as preset…", self)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.clicked.connect(self._save_dialog)
        self.preset_box = QComboBox(self)
        self.preset_box.setToolTip("Apply a saved mapping preset (the TOML files `cs-desk map --save` writes)")
        self._fill_presets()
        self.preset_box.activated.connect(self._preset_chosen)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel("cs-desk guessed which table each sheet holds and which column feeds each field. "
                       "Correct anything that is wrong; the preview shows the result.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        presets = QHBoxLayout()
        presets.addWidget(QLabel("Preset:", self))
        presets.addWidget(self.preset_box, 1)
        layout.addLayout(presets)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.buttons)
        fm = self.fontMetrics()
        self.resize(fm.horizontalAdvance("M") * 110, fm.height() * 45)
        if self.choices:
            self.sheets.setCurrentRow(0)

    # ------------------------------------------------------------------------------ one sheet
    def _show_sheet(self, row: int) -> None:
        if row < 0 or row >= len(self.choices):
            return
        self.current = ch = self.choices[row]
        self._building = True
        idx = self.table_box.findData(ch.table)
        self.table_box.setCurrentIndex(max(idx, 0))
        self._building = False
        self._build_fields()

    def _table_changed(self) -> None:
        if self._building or self.current is None:
            return
        ch = self.current
        new = self.table_box.currentData()
        if new != ch.table:
            ch.table = new
            ch.layout = "long"
            if new is not None:
                from cs_desk.io.mapping import recognise

                rec = recognise(ch.raw, table_hint=new)  # the engine's best guess for that table
                ch.mapping = dict(rec.mapping) if rec.table == new else {}
                ch.layout = rec.layout if rec.table == new else "long"
                ch.recognition = rec if rec.table == new else ch.recognition
            else:
                ch.mapping = {}
        self._build_fields()
        self._refresh_label()

    def _build_fields(self) -> None:
        ch = self.current
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        self.field_combos = {}
        columns = [str(c) for c in ch.raw.frame.columns]
        rec = ch.recognition
        conf = (getattr(rec, "confidence", 0.0) or 0.0) if ch.table == getattr(rec, "table", None) else None
        self.confidence.setText("—" if conf is None or ch.table is None else f"{conf:.0%}")
        months = getattr(rec, "wide_month_columns", {}) or {}
        self.layout_label.setText(
            "wide (one column per month: %d month columns are read as MRR)" % len(months)
            if ch.layout == "wide" else "long (one row per record)")
        if ch.table is not None:
            table = self.TABLES[ch.table]
            fields = table.fields if ch.layout == "long" else [table.field("account_id")]
            fconf = getattr(rec, "field_confidence", {}) or {}
            for f in fields:
                box = QComboBox(self)
                box.addItem(NOT_MAPPED, None)
                for c in columns:
                    box.addItem(c, c)
                current = ch.mapping.get(f.name)
                box.setCurrentIndex(max(box.findData(current), 0) if current else 0)
                box.currentIndexChanged.connect(lambda _i, name=f.name, b=box: self._field_changed(name, b))
                label = f.name + (" *" if f.required else "")
                c = fconf.get(f.name)
                tip = f"{f.kind}; also recognised as: {', '.join(f.aliases[:8])}"
                box.setToolTip(tip)
                row = QWidget(self)
                hl = QHBoxLayout(row)
                hl.setContentsMargins(0, 0, 0, 0)
                hl.addWidget(box, 1)
                conf_label = QLabel(f"{c:.0%}" if c is not None and current else "", row)
                conf_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("100%  "))
                hl.addWidget(conf_label)
                self.fields_form.addRow(label, row)
                self.field_combos[f.name] = box
        self._refresh_preview()

    def _field_changed(self, name: str, box: QComboBox) -> None:
        ch = self.current
        value = box.currentData()
        if value is None:
            ch.mapping.pop(name, None)
        else:
            ch.mapping[name] = value
        self._refresh_preview()

    def _refresh_label(self) -> None:
        row = self.sheets.currentRow()
        if row >= 0:
            self.sheets.item(row).setText(self.choices[row].label)

    def _refresh_preview(self) -> None:
        from ..backend import preview_sheet

        ch = self.current
        columns = [str(c) for c in ch.raw.frame.columns]
        months = getattr(ch.recognition, "wide_month_columns", {}) or {}
        used = set(ch.mapping.values()) | (set(months) if ch.layout == "wide" else set())
        unmapped = [c for c in columns if c not in used]
        self.unmapped.setText("<b>Unmapped columns</b> (not read): " + (", ".join(unmapped) if unmapped else "none"))
        if ch.table is None:
            self.preview.set_frame(ch.raw.frame.head(20).astype(str))
            self.preview_problems.setText("This sheet is skipped. Choose a table to read it.")
            return
        defaults = getattr(ch.recognition, "defaults", {}) if ch.table == getattr(ch.recognition, "table", None) else {}
        try:
            frame, problems = preview_sheet(ch.raw, self._recognition(ch), rows=20)
        except Exception as exc:  # noqa: BLE001 - a preview never breaks the dialog
            self.preview.set_frame(pd.DataFrame())
            self.preview_problems.setText(f"Cannot preview: {exc}")
            return
        frame = frame[[c for c in frame.columns if not str(c).startswith("_")]]
        self.preview.set_frame(frame)
        missing = [f for f in self.TABLES[ch.table].required if f not in ch.mapping and f not in (defaults or {})]
        if ch.layout == "wide":
            missing = [f for f in missing if f == "account_id"]
        lines = []
        if missing:
            lines.append(f"<span style='color:#c62828'>Required field(s) not mapped: {', '.join(missing)}</span>")
        for p in problems[:5]:
            lines.append(str(p))
        if len(problems) > 5:
            lines.append(f"… and {len(problems) - 5} more in these rows")
        self.preview_problems.setText("<br>".join(lines) if lines else "These rows read cleanly.")

    # ------------------------------------------------------------------------------ result
    def result_mapping(self):
        """A ``cs_desk.io.MappingFile`` with one entry per mapped sheet (what OK returns)."""
        from cs_desk.io.mapping import MappingFile

        mf = MappingFile(entries=list(self.mapping_file.entries) if self.mapping_file is not None else [],
                         options=dict(getattr(self.mapping_file, "options", {}) or {}))
        for ch in self.choices:
            if ch.table is None:
                continue
            new = self._recognition(ch)
            mf.add(ch.raw.file, ch.raw.sheet, new)
        return mf

    @staticmethod
    def _recognition(ch: SheetChoice):
        """The user's choice as an engine ``Recognition`` (what load and the preview use)."""
        from cs_desk.io.mapping import Recognition

        rec = ch.recognition
        same = getattr(rec, "table", None) == ch.table
        return Recognition(table=ch.table, mapping=dict(ch.mapping), confidence=1.0, layout=ch.layout,
                           wide_month_columns=dict(getattr(rec, "wide_month_columns", {}) or {}) if same else {},
                           defaults=dict(getattr(rec, "defaults", {}) or {}) if same else {},
                           options=dict(getattr(rec, "options", {}) or {}) if same else {}, how="explicit")

    def save_to(self, path: str) -> None:
        mf = self.result_mapping()
        mf.save(path)
        self.mapping_saved.emit(str(path))

    # ------------------------------------------------------------------------------ presets
    def preset_paths(self) -> list[Path]:
        if self.presets_folder is None or not self.presets_folder.is_dir():
            return []
        return sorted(self.presets_folder.glob("*.toml"))

    def _fill_presets(self) -> None:
        self.preset_box.clear()
        self.preset_box.addItem("(as recognised)", None)
        for p in self.preset_paths():
            self.preset_box.addItem(p.stem, str(p))
        self.preset_box.addItem("Other file…", "")

    def _preset_chosen(self, _index: int) -> None:
        path = self.preset_box.currentData()
        if path == "":
            path, _ = QFileDialog.getOpenFileName(self, "Mapping preset", str(self.presets_folder or ""),
                                                  "cs-desk mapping (*.toml)")
            if not path:
                return
        self.apply_preset(path)

    def apply_preset(self, path: str | None) -> list:
        """Re-recognise every sheet with a saved mapping (its entries win, as in ``cs-desk --mapping``)."""
        from cs_desk.io.mapping import MappingFile, recognise

        problems: list = []
        mf = None
        if path:
            mf, problems = MappingFile.load(path)
            if mf is None:
                self.preview_problems.setText("<br>".join(str(p) for p in problems[:5]))
                return problems
        for ch in self.choices:
            rec = recognise(ch.raw, mf)
            ch.recognition, ch.table = rec, rec.table
            ch.mapping, ch.layout = dict(rec.mapping), rec.layout or "long"
        for i, ch in enumerate(self.choices):
            self.sheets.item(i).setText(ch.label)
        self._show_sheet(max(self.sheets.currentRow(), 0))
        return problems

    def _save_dialog(self) -> None:
        start = str((self.presets_folder or Path.home()) / "my-exports.toml")
        if self.presets_folder is not None:
            self.presets_folder.mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(self, "Save mapping preset (name it after the exports it reads)",
                                              start, "cs-desk mapping (*.toml)")
        if path:
            if not path.endswith(".toml"):
                path += ".toml"
            self.save_to(path)
            self._fill_presets()
