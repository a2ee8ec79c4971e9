"""A frameless scroll area around a screen's content (the dashboard, an account, the builder)."""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


def scroll_area(inner: QWidget, parent: QWidget) -> QScrollArea:
    """``inner`` in a frameless scroll area that resizes it to the visible width."""
    scroll = QScrollArea(parent)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(inner)
    return scroll
