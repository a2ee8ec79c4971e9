"""The main window: menus and shortcuts, the screens as tabs, a message bar, and the job runner.

All long work goes through :class:`gui.worker.JobRunner` (one job at a time, off the GUI
thread). Jobs call :mod:`gui.backend`, which calls the engine.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QStatusBar, QTabWidget, QToolBar, QVBoxLayout,
                               QWidget)

from . import backend
from .settings import Settings
from .views.accounts import AccountsView
from .views.actions import ActionsView
from .views.dashboard import Dashboard
from .views.export_dialog import ExportDialog
from .views.health_builder import HealthBuilder
from .views.mapping_dialog import MappingDialog
from .views.problems import ProblemsView
from .views.sources import SourcesView
from .worker import JobRunner

FILE_FILTER = "Spreadsheets and CSV (*.xlsx *.xlsm *.csv *.txt *.tsv);;All files (*)"
SUPPORTED = {".xlsx", ".xlsm", ".csv", ".txt", ".tsv", ".xls"}
LOW_CONFIDENCE = 0.8


class MessageBar(QFrame):
    """A dismissable message above the tabs (errors never open a blocking dialog)."""

    details = Signal()
    STYLES = {"error": ("#ffebee", "#c62828"), "warning": ("#fff8e1", "#f57f17"), "info": ("#e3f2fd", "#1565c0")}

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.text = QLabel("", self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton("", self)
        self.action.hide()
        self._callback = None
        self.action.clicked.connect(lambda: self._callback and self._callback())
        close = QPushButton("Dismiss", self)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action)
        layout.addWidget(close)
        self.level = ""
        self.hide()

    def show_message(self, text: str, level: str = "info", action: str | None = None, callback=None) -> None:
        bg, fg = self.STYLES.get(level, self.STYLES["info"])
        self.level = level
        self.setStyleSheet(f"#messageBar {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
                           f"#messageBar QLabel {{ color: #212121; }}")
        self.text.setText(text)
        self._callback = callback
        self.action.setVisible(bool(action))
        self.action.setText(action or "")
        self.show()


class MainWindow(QMainWindow):
    analysis_ready = Signal(object)
    load_failed = Signal(str)

    def __init__(self, settings: Settings | None = None, demo_accounts: int = 600, demo_months: int = 36):
        super().__init__()
        self.settings = settings or Settings()
        self.demo_accounts, self.demo_months = demo_accounts, demo_months
        self.setWindowTitle("cs-desk")
        self.setAcceptDrops(True)
        self.runner = JobRunner(self)
        self.paths: list[str] = []
        self.mapping = None  # cs_desk.io.MappingFile in use
        self.dataset = None
        self.analysis: backend.Analysis | None = None
        self.health_model = None
        self.health_model_path: str | None = None
        self.export_dialog: ExportDialog | None = None
        self.mapping_dialog: MappingDialog | None = None
        self.last_error: str = ""
        self.timings: dict[str, float] = {}  # seconds spent showing the last results (bench/bench_gui.py)
        self._pending_paths: list[str] = []  # the files being opened (for "Map columns…" on failure)
        self._mapping_paths: list[str] = []
        self._backtest = None  # cs_desk.health.Backtest of the current dataset (False: not possible)

        # screens ----------------------------------------------------------------------------------
        self.sources = SourcesView(self)
        self.dashboard = Dashboard(self)
        self.accounts = AccountsView(self)
        self.builder = HealthBuilder(self)
        self.actions_view = ActionsView(self)
        self.problems = ProblemsView(self)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        for widget, title in ((self.sources, "Sources"), (self.dashboard, "Dashboard"), (self.accounts, "Accounts"),
                              (self.builder, "Health builder"), (self.actions_view, "Actions"),
                              (self.problems, "Problems")):
            self.tabs.addTab(widget, title)
        self.message = MessageBar(self)
        central = QWidget(self)
        cl = QVBoxLayout(central)
        cl.setContentsMargins(6, 6, 6, 0)
        cl.addWidget(self.message)
        cl.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        # status bar: progress + cancel ------------------------------------------------------------
        self.status = QStatusBar(self)
        self.setStatusBar(self.status)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(self.fontMetrics().horizontalAdvance("M") * 18)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(lambda: self.runner.cancel())
        self.status.addPermanentWidget(self.progress)
        self.status.addPermanentWidget(self.cancel_button)

        self._make_actions()
        self._connect()
        self._restore()

    # ------------------------------------------------------------------------------------ setup
    def _make_actions(self) -> None:
        def act(text, slot, shortcut=None, tip=""):
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcut(shortcut)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        self.open_action = act("&Open files…", self.open_dialog, QKeySequence.StandardKey.Open,
                               "Open CRM, billing, usage, support and survey exports")
        self.demo_action = act("Open &demo portfolio", self.open_demo, None, "A made-up SaaS portfolio to explore")
        self.mapping_action = act("Column &mapping…", self.edit_mapping, QKeySequence("Ctrl+M"))
        self.load_mapping_action = act("Use mapping preset…", self.load_mapping_dialog)
        self.export_action = act("&Export report…", self.export_dialog_open, QKeySequence("Ctrl+E"),
                                 "Write the KPI workbook and the portfolio PDF")
        self.quit_action = act("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.load_model_action = act("&Load health model…", self.load_model_dialog)
        self.save_model_action = act("&Save health model as…", lambda: self.save_model(self.builder.model, True))
        for a in (self.mapping_action, self.export_action, self.save_model_action):
            a.setEnabled(False)
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addAction(self.demo_action)
        file_menu.addSeparator()
        file_menu.addAction(self.mapping_action)
        file_menu.addAction(self.load_mapping_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        health_menu = menu.addMenu("&Health")
        health_menu.addAction(self.load_model_action)
        health_menu.addAction(self.save_model_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(act("&About cs-desk", self.about))
        tb = QToolBar("Main", self)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for a in (self.open_action, self.demo_action, self.mapping_action, self.export_action):
            tb.addAction(a)
        self.addToolBar(tb)
        self._fill_recent()

    def _connect(self) -> None:
        r = self.runner
        r.started.connect(self._job_started)
        r.progress.connect(self._job_progress)
        r.idle.connect(self._jobs_idle)
        r.failed.connect(self._job_failed)
        r.cancelled.connect(lambda key: self.status.showMessage(f"{key}: cancelled", 5000))
        s = self.sources
        s.open_files.connect(self.open_dialog)
        s.open_demo.connect(self.open_demo)
        s.edit_mapping.connect(self.edit_mapping)
        s.open_recent.connect(self.open_paths)
        self.dashboard.recompute_requested.connect(self.recompute_kpis)
        self.dashboard.drill_down.connect(self.drill_down)
        self.actions_view.open_account.connect(self.open_account)
        b = self.builder
        b.load_requested.connect(self.load_model_dialog)
        b.save_requested.connect(self.save_model)
        b.compare_requested.connect(self.compare_model_dialog)
        b.apply_requested.connect(self.apply_model)
        b.backtest_requested.connect(self.run_backtest)
        self.message.details.connect(lambda: self.tabs.setCurrentWidget(self.problems))

    def _restore(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry() if self.screen() else None
            if screen is not None:
                self.resize(int(screen.width() * 0.8), int(screen.height() * 0.85))
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        self.sources.set_recent(self.settings.recent())
        self.tabs.setCurrentWidget(self.sources)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.runner.cancel()
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.runner.wait(5000)
        super().closeEvent(event)

    # ------------------------------------------------------------------------------ job plumbing
    def _job_started(self, key: str, label: str) -> None:
        self.progress.setValue(0)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.show()
        self.cancel_button.show()
        self.status.showMessage(label)

    def _job_progress(self, key: str, fraction: float, text: str) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(fraction * 1000))
        if text:
            self.status.showMessage(text)
        if key == "export" and self.export_dialog is not None:
            self.export_dialog.on_progress(fraction, text)

    def _jobs_idle(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def _job_failed(self, key: str, exc: object, text: str) -> None:
        message = self.describe_error(exc)
        self.last_error = message
        if not isinstance(exc, backend.LoadFailed):
            print(text, file=sys.stderr)
        if key == "export" and self.export_dialog is not None:
            self.export_dialog.on_error(message)
        if key == "backtest":
            self.builder.show_backtest(None, message)
            return
        what = {"load": "Could not open the files", "demo": "Could not create the demo portfolio",
                "analyse": "Could not compute the portfolio", "inspect": "Could not read the files",
                "export": "Export failed", "kpis": "Could not compute the KPIs"}.get(key, "Something went wrong")
        if key == "load" and isinstance(exc, backend.LoadFailed) and self._pending_paths:
            # nothing recognised: the user can still say which table each sheet holds
            self.message.show_message(f"<b>{what}.</b><br>{_html(message)}", "error", "Map columns…",
                                      lambda: self.edit_mapping(self._pending_paths))
        else:
            self.message.show_message(f"<b>{what}.</b><br>{_html(message)}", "error")
        self.status.showMessage(what, 8000)
        self.load_failed.emit(message)

    @staticmethod
    def describe_error(exc: object) -> str:
        if isinstance(exc, backend.LoadFailed):
            return str(exc)
        if isinstance(exc, (OSError,)):
            return f"{getattr(exc, 'filename', '') or ''} {exc.strerror or exc}".strip()
        text = str(exc) or type(exc).__name__
        return f"{type(exc).__name__}: {text}" if not isinstance(exc, (ValueError, RuntimeError)) else text

    # ------------------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open exports", self.settings.last_folder, FILE_FILTER)
        if paths:
            self.settings.last_folder = str(Path(paths[0]).parent)
            self.open_paths(paths)

    def open_paths(self, paths: list[str], mapping=None) -> None:
        """Load ``paths`` (on the worker), then analyse; a bad file leaves the app as it was."""
        paths = [str(p) for p in paths]
        if mapping is None:
            mapping = self._last_mapping()
        elif mapping is False:  # the demo: recognised without any saved mapping
            mapping = None
        self.message.hide()
        self._pending_paths = paths
        self.runner.submit("load", backend.load_dataset, paths, mapping, label="Opening " + ", ".join(
            Path(p).name for p in paths), on_done=lambda ds: self._loaded(paths, mapping, ds))

    def _last_mapping(self):
        path = self.settings.last_mapping
        if not path or not Path(path).exists():
            return None
        from cs_desk.io.mapping import MappingFile

        mf, _problems = MappingFile.load(path)
        return mf

    def _loaded(self, paths, mapping, dataset, analysis: backend.Analysis | None = None) -> None:
        """Files were read: show the sources, then analyse (or show ``analysis`` if given)."""
        import time

        t0 = time.perf_counter()
        self.paths, self.mapping, self.dataset = paths, mapping, dataset
        self._backtest = None
        self.settings.add_recent(paths)
        self._fill_recent()
        self.sources.set_dataset(dataset, paths)
        self.problems.set_problems(dataset.problems)
        self.mapping_action.setEnabled(True)
        self.setWindowTitle("cs-desk — " + ", ".join(Path(p).name for p in paths))
        errors = [p for p in dataset.problems if getattr(p.severity, "value", p.severity) == "error"]
        unsure = [s for s in dataset.sources if s.confidence < LOW_CONFIDENCE]
        if errors:
            self.message.show_message(
                f"<b>{len(errors)} file/sheet error(s)</b>; the rest was loaded.<br>{_html(backend.describe_problems(errors, 3))}",
                "error", "Show problems", lambda: self.tabs.setCurrentWidget(self.problems))
        elif unsure:
            self.message.show_message(
                "Some sheets were recognised with low confidence: "
                + ", ".join(f"{Path(s.file).name} {s.sheet or ''} as {s.table} ({s.confidence:.0%})" for s in unsure)
                + ". Please check the column mapping.", "warning", "Review mapping…", self.edit_mapping)
        self.timings["loaded"] = time.perf_counter() - t0
        if analysis is not None:
            self._analysed(analysis)
        else:
            self.analyse()

    def analyse(self) -> None:
        if self.dataset is None:
            return
        if self.health_model is None:
            self.health_model, self.health_model_path = self._initial_health_model()
        self.runner.submit("analyse", backend.analyse, self.dataset, self.health_model, label="Computing KPIs",
                           on_done=self._analysed)

    def _initial_health_model(self):
        """The model the user last saved or loaded; (None, None) lets the engine use its default
        (resolved on the worker thread, inside the report bundle)."""
        path = self.settings.last_health_model
        if path and Path(path).exists():
            try:
                model, problems = backend.load_health_model(path)
                if model is not None:
                    return model, path
            except Exception:  # noqa: BLE001 - fall back to the default model
                pass
        return None, None

    def _analysed(self, analysis: backend.Analysis) -> None:
        import time

        t0 = time.perf_counter()
        self._show_analysis(analysis)
        self.timings["show"] = time.perf_counter() - t0
        self.analysis_ready.emit(analysis)

    def _show_analysis(self, analysis: backend.Analysis) -> None:
        import time

        t = time.perf_counter()
        self.analysis = analysis
        if analysis.health_model is not None:
            self.health_model = analysis.health_model
        self.dashboard.set_analysis(analysis)
        self.timings["show_dashboard"] = time.perf_counter() - t
        self.accounts.set_analysis(analysis)
        self.timings["show_accounts"] = time.perf_counter() - t
        self.actions_view.set_actions(analysis.actions, " ".join(analysis.notes))
        self.problems.set_problems(analysis.problems)
        self.timings["show_tables"] = time.perf_counter() - t
        if self.health_model is not None:
            self.builder.snapshot = analysis.raw_snapshot
            self.builder.scorer = self.builder.saved_scorer = None
            if self.builder.model is None or self.builder.model is not self.health_model:
                self.builder.set_model(self.health_model, self.health_model_path,
                                       as_saved=self.builder.saved is None)
            else:
                self.builder.set_snapshot(analysis.raw_snapshot)
        self.export_action.setEnabled(True)
        self.save_model_action.setEnabled(self.health_model is not None)
        if self.tabs.currentWidget() is self.sources:
            self.tabs.setCurrentWidget(self.dashboard)

    def recompute_kpis(self, by, granularity: str) -> None:
        if self.dataset is None:
            return
        self.runner.submit("kpis", backend.compute_kpis, self.dataset, by, granularity,
                           label="Computing KPIs", on_done=lambda out: self.dashboard.set_result(*out))

    # ------------------------------------------------------------------------------ demo
    def open_demo(self) -> None:
        """Generate the demo portfolio once into the user data folder (cs_desk.demo), then open it."""
        self.settings.mark_seen()
        folder = self.settings.demo_folder() / f"{self.demo_accounts}-accounts"
        existing = backend.demo_inputs_present(folder)
        if existing:
            self.open_paths([str(p) for p in existing], mapping=False)
            return
        self.runner.submit("demo", backend.make_demo, folder, self.demo_accounts, self.demo_months,
                           label="Creating the demo portfolio",
                           on_done=lambda paths: paths and self.open_paths([str(p) for p in paths], mapping=False))

    # ------------------------------------------------------------------------------ mapping
    def edit_mapping(self, paths: list[str] | None = None) -> None:
        paths = list(paths or self.paths)
        if not paths:
            return
        self._mapping_paths = paths
        mapping = self.mapping or None
        self.runner.submit("inspect", backend.inspect_files, paths, mapping, label="Reading the sheets",
                           on_done=self._show_mapping)

    def _show_mapping(self, found) -> None:
        dialog = MappingDialog(found, self.mapping or None, self, presets_folder=self.settings.presets_folder())
        self.mapping_dialog = dialog
        dialog.accepted.connect(lambda: self._mapping_accepted(dialog))
        dialog.mapping_saved.connect(self._mapping_saved)
        dialog.open()

    def _mapping_accepted(self, dialog: MappingDialog) -> None:
        mapping = dialog.result_mapping()
        target = self.settings.demo_folder().parent / "last-mapping.toml"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            mapping.save(target)
            if not self.settings.last_mapping or not Path(self.settings.last_mapping).exists():
                self.settings.last_mapping = str(target)
        except OSError:
            pass
        self.open_paths(self._mapping_paths or self.paths, mapping=mapping)

    def _mapping_saved(self, path: str) -> None:
        self.settings.last_mapping = path
        self.status.showMessage(f"Mapping saved to {path}", 5000)

    def load_mapping_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Use mapping preset", self.settings.last_folder,
                                              "cs-desk mapping (*.toml)")
        if not path:
            return
        from cs_desk.io.mapping import MappingFile

        mf, problems = MappingFile.load(path)
        if mf is None:
            self.message.show_message(_html(backend.describe_problems(problems)), "error")
            return
        self.settings.last_mapping = path
        if self.paths:
            self.open_paths(self.paths, mapping=mf)

    # ------------------------------------------------------------------------------ drill-down
    def drill_down(self, title: str, ids) -> None:
        self.accounts.drill_down(title, ids)
        self.tabs.setCurrentWidget(self.accounts)

    def open_account(self, account_id: str) -> None:
        self.tabs.setCurrentWidget(self.accounts)
        self.accounts.select_account(account_id)

    # ------------------------------------------------------------------------------ health
    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load health model", self.settings.last_folder,
                                              "Health model (*.toml)")
        if path:
            self.load_model(path)

    def load_model(self, path: str) -> bool:
        try:
            model, problems = backend.load_health_model(path)
        except Exception as exc:  # noqa: BLE001
            self.message.show_message(f"<b>Could not load {Path(path).name}</b><br>{_html(str(exc))}", "error")
            return False
        if model is None:
            self.message.show_message(f"<b>{Path(path).name} is not a valid health model</b><br>"
                                      + _html(backend.describe_problems(problems, 8)), "error")
            return False
        self.health_model, self.health_model_path = model, path
        self.settings.last_health_model = path
        self.builder.set_model(model, path, as_saved=True)
        if self.analysis is not None:
            self.builder.set_snapshot(self.analysis.raw_snapshot)
        return True

    def compare_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Compare with health model", self.settings.last_folder,
                                              "Health model (*.toml)")
        if path:
            model, problems = backend.load_health_model(path)
            if model is None:
                self.message.show_message(_html(backend.describe_problems(problems)), "error")
                return
            self.builder.set_reference(model, path)

    def save_model(self, model, as_new: bool = False, path: str | None = None) -> str | None:
        if model is None:
            return None
        if path is None:
            path = self.builder.saved_path if not as_new else None
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save health model", "health-model.toml",
                                                  "Health model (*.toml)")
            if not path:
                return None
        try:
            backend.save_health_model(model, path)
        except Exception as exc:  # noqa: BLE001
            self.message.show_message(f"<b>Could not save {path}</b><br>{_html(str(exc))}", "error")
            return None
        self.settings.last_health_model = path
        self.health_model, self.health_model_path = model, path
        self.builder.set_reference(model, path)
        self.builder.title.setText(f"<b>{model.name}</b> — {path}")
        self.status.showMessage(f"Saved {path}", 5000)
        return path

    def apply_model(self, model) -> None:
        self.health_model = model
        self.analyse()

    def run_backtest(self, model) -> None:
        """Debounced by the builder: prepare the backtest once per dataset, then re-run it."""
        if self.dataset is None or model is None:
            return
        if self._backtest is None:
            dataset = self.dataset

            def prepared(bt):
                if dataset is self.dataset:
                    self._backtest = bt if bt is not None else False
                    self.run_backtest(self.builder.model or model)

            self.runner.submit("backtest", backend.prepare_backtest, model, dataset,
                               label="Preparing the backtest", on_done=prepared)
            return
        self.runner.submit("backtest", backend.run_backtest, self._backtest or None, model, label="Backtesting",
                           on_done=lambda out: self.builder.show_backtest(*out))

    # ------------------------------------------------------------------------------ export
    def export_dialog_open(self) -> None:
        if self.analysis is None:
            return
        dialog = ExportDialog(backend.default_export_folder(), self)
        self.export_dialog = dialog
        dialog.export_requested.connect(self.export)
        dialog.cancel_requested.connect(lambda: self.runner.cancel("export"))
        self.runner.cancelled.connect(lambda key: key == "export" and dialog.on_cancelled())
        dialog.open()

    def export(self, folder: str, formats: tuple) -> None:
        analysis = self.analysis
        dialog = self.export_dialog
        self.runner.submit("export", backend.export_reports, analysis, folder, tuple(formats),
                           label="Exporting the report",
                           on_done=lambda written: dialog is not None and dialog.on_done(written))

    # ------------------------------------------------------------------------------ misc
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent()
        for paths in recent:
            a = self.recent_menu.addAction(", ".join(Path(p).name for p in paths))
            a.setToolTip("\n".join(paths))
            a.triggered.connect(lambda _=False, p=paths: self.open_paths(p))
        self.recent_menu.setEnabled(bool(recent))
        self.sources.set_recent(recent)

    def about(self) -> None:
        import cs_desk

        QMessageBox.about(self, "About cs-desk",
                          f"<b>cs-desk {cs_desk.__version__}</b><p>Customer-success KPIs, health scores and "
                          "reports on your own spreadsheets, offline.</p>")

    # drag and drop -------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = self._dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    @staticmethod
    def _dropped_paths(mime) -> list[str]:
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower()
                in SUPPORTED]


def _html(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")
