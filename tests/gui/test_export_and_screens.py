"""Export writes the report files; every screen paints at a normal window size."""
from __future__ import annotations

from .conftest import LOAD_TIMEOUT_MS


def test_export_writes_xlsx_and_pdf_with_progress(qtbot, loaded, tmp_path):
    loaded.export_dialog_open()
    dialog = loaded.export_dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.folder.setText(str(tmp_path / "out"))
    fractions = []
    loaded.runner.progress.connect(lambda key, f, text: key == "export" and fractions.append(f))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=LOAD_TIMEOUT_MS * 2)
    assert dialog.written, dialog.status.text()
    names = sorted(p.name for p in dialog.written)
    assert [n.rsplit(".", 1)[-1] for n in names] == ["pdf", "xlsx"]
    for p in dialog.written:
        assert p.exists() and p.stat().st_size > 1000
    assert fractions and dialog.progress.value() == 1000
    assert "Written" in dialog.status.text()


def test_every_screen_paints(qtbot, loaded, tmp_path):
    for i in range(loaded.tabs.count()):
        loaded.tabs.setCurrentIndex(i)
        qtbot.wait(20)
        image = loaded.grab().toImage()
        assert image.width() >= 1000 and not image.isNull()


def test_screens_bundle_leaves_out_cohorts_and_books_and_export_computes_them(demo_results, monkeypatch, tmp_path):
    from gui import backend

    dataset, analysis = demo_results
    assert set(analysis.bundle.omitted) == {"cohorts", "books"}  # nothing on screen shows them
    seen = []

    def fake_writer(bundle, target, **_kwargs):
        seen.append(bundle)
        target.write_text("x")
        return target

    monkeypatch.setattr(backend, "report_writers", lambda: {"xlsx": fake_writer})
    backend.export_reports(analysis, str(tmp_path), ("xlsx",))
    (full,) = seen
    assert full.complete and full.cohorts is not None and not full.books.empty
    assert full.by == ("segment", "csm")
    assert full.health_model is analysis.health_model
    assert full.kpis.value("mrr") == analysis.bundle.kpis.value("mrr")


def test_a_hidden_chart_is_drawn_when_shown(qtbot):
    from gui.views.charts import ChartCanvas

    chart = ChartCanvas("test")
    qtbot.addWidget(chart)
    draws = []
    chart.mpl_connect("draw_event", lambda _e: draws.append(1))
    chart.empty("nothing")
    chart.draw()
    assert draws == []  # hidden: nothing rendered yet
    chart.resize(400, 300)
    chart.show()
    qtbot.waitUntil(lambda: len(draws) > 0, timeout=5000)
