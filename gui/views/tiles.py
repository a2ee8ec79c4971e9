"""KPI tiles: value, target, change vs the previous period, a green/red mark and a sparkline.

Everything a tile says comes from the registry entry (label, unit, direction, target via
``KPI.meets_target`` / ``KPI.is_better``) and the engine's value series; the tile only draws.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..formatting import format_change, format_value, is_missing

GOOD, BAD, NEUTRAL = QColor("#2e7d32"), QColor("#c62828"), QColor("#78909c")


class Sparkline(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.values: list[float] = []
        self.target: float | None = None
        self.colour = NEUTRAL
        self.setMinimumHeight(self.fontMetrics().height() * 2)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values, target=None, colour: QColor = NEUTRAL) -> None:
        self.values = [float(v) if not is_missing(v) else math.nan for v in values]
        self.target = target
        self.colour = colour
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        finite = [v for v in self.values if math.isfinite(v)]
        if len(finite) < 2:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(2, 3, -2, -3)
        lo, hi = min(finite), max(finite)
        if self.target is not None and math.isfinite(self.target):
            lo, hi = min(lo, self.target), max(hi, self.target)
        span = (hi - lo) or 1.0
        n = len(self.values)

        def pt(i, v):
            return QPointF(r.left() + r.width() * i / max(n - 1, 1), r.bottom() - r.height() * (v - lo) / span)

        if self.target is not None and math.isfinite(self.target):
            pen = QPen(QColor("#b0bec5"))
            pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            y = pt(0, self.target).y()
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
        path = QPainterPath()
        started = False
        for i, v in enumerate(self.values):
            if not math.isfinite(v):
                started = False
                continue
            if started:
                path.lineTo(pt(i, v))
            else:
                path.moveTo(pt(i, v))
                started = True
        pen = QPen(self.colour)
        pen.setWidthF(1.6)
        p.setPen(pen)
        p.drawPath(path)
        last = next((i for i in range(n - 1, -1, -1) if math.isfinite(self.values[i])), None)
        if last is not None:
            p.setBrush(self.colour)
            p.drawEllipse(pt(last, self.values[last]), 2.5, 2.5)
        p.end()


class KpiTile(QFrame):
    """A clickable KPI tile. ``clicked(kpi_id)``."""

    clicked = Signal(str)

    def __init__(self, kpi, parent=None):
        super().__init__(parent)
        self.kpi = kpi
        self.setObjectName("kpiTile")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{kpi.label}: {kpi.formula}\nClick for the accounts behind it.")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.title = QLabel(kpi.label, self)
        self.title.setObjectName("tileTitle")
        self.title.setWordWrap(True)
        self.value_label = QLabel("–", self)
        self.value_label.setObjectName("tileValue")
        self.value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.target_label = QLabel("", self)
        self.target_label.setObjectName("tileTarget")
        self.change_label = QLabel("", self)
        self.change_label.setObjectName("tileChange")
        self.spark = Sparkline(self)
        layout = QVBoxLayout(self)
        layout.setSpacing(1)
        m = self.fontMetrics().height() // 2
        layout.setContentsMargins(m + 4, m // 2, m, m // 2)
        layout.addWidget(self.title)
        layout.addWidget(self.value_label)
        layout.addWidget(self.change_label)
        layout.addWidget(self.target_label)
        layout.addWidget(self.spark)
        font = self.value_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.7)
        font.setBold(True)
        self.value_label.setFont(font)
        self.status: bool | None = None
        self._set_status(None)

    def set_data(self, value, previous, history, period: str, previous_period: str | None) -> None:
        k = self.kpi
        self.value_label.setText(format_value(value, k.unit))
        ok = k.meets_target(None if is_missing(value) else float(value))
        target_text = f"target {format_value(k.target, k.unit)}" if k.target is not None else "no target"
        self.target_label.setText(f"{target_text} · {period}")
        change = format_change(value, previous, k.unit)
        if change and previous_period:
            better = k.is_better(float(value), float(previous))
            arrow = "▲" if float(value) > float(previous) else "▼" if float(value) < float(previous) else "■"
            colour = GOOD if better else BAD if better is False else NEUTRAL
            self.change_label.setText(f"<span style='color:{colour.name()}'>{arrow} {change}</span> "
                                      f"vs {previous_period}")
        else:
            self.change_label.setText("no previous period")
        colour = GOOD if ok else BAD if ok is False else NEUTRAL
        self.spark.set_values(list(history), k.target if k.unit != "currency" else None, colour)
        self._set_status(ok)

    def _set_status(self, ok: bool | None) -> None:
        self.status = ok
        colour = GOOD if ok else BAD if ok is False else NEUTRAL
        self.setStyleSheet(
            f"#kpiTile {{ border: 1px solid palette(mid); border-left: 0.4em solid {colour.name()};"
            f" border-radius: 4px; background: palette(base); }}"
            f"#tileTitle {{ color: palette(text); font-weight: bold; }}"
            f"#tileTarget {{ color: palette(dark); }}")

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.kpi.id)
        super().mouseReleaseEvent(event)

    @property
    def value_text(self) -> str:
        return self.value_label.text()
