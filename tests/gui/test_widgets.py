"""The small parts: job runner, DataFrame model, settings, formatting, drag and drop, shortcuts."""
from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence


# -- worker ------------------------------------------------------------------------------------------
def test_runner_delivers_results_progress_and_errors_on_the_gui_thread(qtbot):
    from gui.worker import JobRunner

    runner = JobRunner()
    main_thread = threading.get_ident()
    seen = {}

    def job(x, progress=None, cancelled=None):
        seen["thread"] = threading.get_ident()
        progress(1.0, "half")
        return x * 2

    got = []
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.submit("double", job, 21, on_done=lambda r: got.append((threading.get_ident(), r)))
    assert blocker.args == ["double", 42]
    assert got == [(main_thread, 42)]
    assert seen["thread"] != main_thread

    def boom():
        raise ValueError("row 7 of accounts.csv has no id")

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit("boom", boom)
    assert isinstance(blocker.args[1], ValueError) and "row 7" in str(blocker.args[1])
    runner.wait()


def test_runner_runs_one_job_at_a_time_and_newer_jobs_replace_queued_ones(qtbot):
    from gui.worker import JobRunner

    runner = JobRunner()
    release = threading.Event()
    done = []
    def slow():
        release.wait(5)
        return "slow"

    runner.submit("slow", slow, on_done=done.append)
    for i in range(5):  # a slider dragged while a job runs: only the last value is computed
        runner.submit("score", lambda i=i: i, on_done=done.append)
    assert runner.busy
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert done == ["slow", 4]


def test_runner_cancels_through_the_engine_check(qtbot):
    from gui.worker import JobRunner

    runner = JobRunner()

    def long_job(progress=None, cancelled=None):
        for i in range(500):
            if cancelled():
                return "stopped"
            time.sleep(0.01)
        return "finished"

    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.submit("long", long_job)
        qtbot.wait(50)
        runner.cancel("long")
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)


# -- models ------------------------------------------------------------------------------------------
def test_dataframe_model_sorts_numbers_dates_and_missing_values_and_filters(qtbot):
    from gui.models import FilterableTable

    frame = pd.DataFrame({
        "account_id": ["A", "B", "C", "D"],
        "mrr": [100.0, 9.5, np.nan, 1000.0],
        "renewal_date": pd.to_datetime(["2026-03-01", None, "2025-01-01", "2027-01-01"]),
        "csm": ["Maya", "Liam", "maya", "Sofia"],
    })
    t = FilterableTable()
    qtbot.addWidget(t)
    t.set_frame(frame)
    t.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert t.visible_frame()["account_id"].tolist() == ["B", "A", "D", "C"]  # numeric, NaN last
    t.view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert t.visible_frame()["account_id"].tolist()[0] == "D"
    t.filter.setText("maya")
    assert sorted(t.visible_frame()["account_id"]) == ["A", "C"]
    assert t.count.text() == "2 of 4 rows"
    t.filter.setText("csm:sofia")
    assert t.visible_frame()["account_id"].tolist() == ["D"]
    t.filter.clear()
    t.proxy.set_id_filter("account_id", ["B", "C"])
    assert sorted(t.visible_frame()["account_id"]) == ["B", "C"]
    row_a = t.model.frame["account_id"].tolist().index("A")
    assert t.model.data(t.model.index(row_a, 1)) == "100"


# -- formatting ------------------------------------------------------------------------------------------
def test_formatting_by_unit():
    from gui.formatting import format_change, format_value

    assert format_value(0.0523, "fraction") == "5.2%"
    assert format_value(262350.4, "currency") == "262,350"
    assert format_value(float("nan"), "currency") == "–"
    assert format_value(3.456, "ratio") == "3.46"
    assert format_value(41, "count") == "41"
    assert format_change(0.05, 0.04, "fraction") == "+1.0 pt"
    assert format_change(110.0, 100.0, "currency") == "+10.0%"


# -- settings ------------------------------------------------------------------------------------------
def test_settings_persist_recent_files_mapping_and_geometry(tmp_path):
    from gui.settings import MAX_RECENT, Settings

    path = tmp_path / "s.ini"
    s = Settings(path)
    assert s.first_run
    for i in range(MAX_RECENT + 3):
        s.add_recent([f"/data/{i}.xlsx", f"/data/{i}.csv"])
    s.add_recent(["/data/3.xlsx", "/data/3.csv"])  # re-opened: moves to the top, no duplicate
    s.last_mapping = "/data/mapping.toml"
    s.mark_seen()
    s.sync()
    again = Settings(path)
    recent = again.recent()
    assert recent[0] == ["/data/3.xlsx", "/data/3.csv"]
    assert len(recent) == MAX_RECENT and len({tuple(r) for r in recent}) == MAX_RECENT
    assert again.last_mapping == "/data/mapping.toml"
    assert not again.first_run


def test_window_geometry_is_restored(qtbot, settings):
    from gui.main_window import MainWindow

    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(720, 600)  # inside the offscreen screen (800x800): restoreGeometry clamps to it
    w.show()
    w.close()
    w2 = MainWindow(settings)
    qtbot.addWidget(w2)
    assert (w2.width(), w2.height()) == (720, 600)


# -- window plumbing -----------------------------------------------------------------------------------
def test_shortcuts(window):
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.export_action.shortcut() == QKeySequence("Ctrl+E")
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")


def test_dropping_files_opens_them(qtbot, window, monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(window, "open_paths", lambda paths, mapping=None: opened.append(paths))
    good, other = tmp_path / "crm.xlsx", tmp_path / "notes.docx"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(good)), QUrl.fromLocalFile(str(other))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert opened == [[str(good)]]


def test_first_run_demo_action_generates_and_opens_the_demo(qtbot, window, monkeypatch):
    from gui import backend

    calls = []
    monkeypatch.setattr(window, "open_paths", lambda paths, mapping=None: calls.append((paths, mapping)))
    assert window.settings.first_run
    assert window.sources.stack.currentIndex() == 0  # the welcome page offers the demo
    with qtbot.waitSignal(window.runner.finished, timeout=60_000):
        window.sources.demo_button.click()
    assert not window.settings.first_run
    paths, mapping = calls[-1]
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["cs-desk-demo.xlsx", "usage.csv"]
    assert backend.demo_inputs_present(window.settings.demo_folder() / f"{window.demo_accounts}-accounts")
    window.open_demo()  # the second time the files are reused, not generated again
    assert len(calls) == 2 and not window.runner.busy


# -- mapping dialog --------------------------------------------------------------------------------------
def test_mapping_dialog_edits_previews_and_saves_a_preset_the_cli_reads(qtbot, demo_files, tmp_path):
    from cs_desk.io.mapping import MappingFile

    from gui import backend
    from gui.views.mapping_dialog import NOT_MAPPED, MappingDialog

    found = backend.inspect_files([str(demo_files[0])])
    presets = tmp_path / "presets"
    dialog = MappingDialog(found, None, presets_folder=presets)
    qtbot.addWidget(dialog)
    row = next(i for i, ch in enumerate(dialog.choices) if ch.table == "accounts")
    dialog.sheets.setCurrentRow(row)
    assert dialog.preview.model.rowCount() == 20
    assert "segment" in dialog.preview.model.frame.columns
    # un-map a field: the preview loses the column, the unmapped list gains the source column
    box = dialog.field_combos["segment"]
    box.setCurrentIndex(box.findText(NOT_MAPPED))
    assert "segment" not in dialog.choices[row].mapping
    assert dialog.preview.model.frame["segment"].isna().all()
    assert "segment" in dialog.unmapped.text()
    # un-map a required field: the dialog says so
    box = dialog.field_combos["account_id"]
    box.setCurrentIndex(box.findText(NOT_MAPPED))
    assert "Required field(s) not mapped: account_id" in dialog.preview_problems.text()
    box.setCurrentIndex(box.findText("account_id"))
    # save as a named preset: the same TOML the CLI reads back
    path = presets / "crm.toml"
    presets.mkdir()
    dialog.save_to(str(path))
    mf, problems = MappingFile.load(path)
    assert mf is not None and not problems
    entry = mf.entry_for(str(demo_files[0]), "accounts")
    assert entry.table == "accounts" and "segment" not in entry.columns
    dialog._fill_presets()
    assert dialog.preset_box.findText("crm") >= 0
    dialog.apply_preset(str(path))
    assert "segment" not in dialog.choices[row].mapping
