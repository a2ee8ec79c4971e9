"""``cs-desk-gui``: start the desktop app.

Qt 6 scales with the screen's device pixel ratio by itself (HiDPI); the app uses no fixed pixel
sizes, only sizes derived from the font. ``cs-desk-gui FILE ...`` opens files straight away;
``--demo`` opens the demo portfolio.
"""
from __future__ import annotations

import argparse
import sys

import gui  # noqa: F401  (sets QT_API for matplotlib before it is imported)


def create_app(argv: list[str] | None = None):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName("cs-desk")
    app.setApplicationName("cs-desk-gui")
    app.setApplicationDisplayName("cs-desk")
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cs-desk-gui", description="cs-desk desktop app")
    parser.add_argument("files", nargs="*", help="xlsx / xlsm / csv files to open")
    parser.add_argument("--demo", action="store_true", help="open the demo portfolio")
    parser.add_argument("--health-model", metavar="TOML", help="health model to start with")
    args = parser.parse_args(argv)
    app = create_app()
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    if args.health_model:
        window.load_model(args.health_model)
    if args.files:
        window.open_paths(args.files)
    elif args.demo:
        window.open_demo()
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
