"""A bad file shows a readable message naming it, and the app stays usable."""
from __future__ import annotations

from .conftest import LOAD_TIMEOUT_MS, open_and_wait


def test_corrupt_xlsx_shows_its_message_and_the_app_stays_usable(qtbot, window, demo_files, tmp_path):
    bad = tmp_path / "billing-export.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"this is not really a workbook" * 50)
    with qtbot.waitSignal(window.load_failed, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([str(bad)])
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=LOAD_TIMEOUT_MS)
    assert window.message.isVisible()
    assert window.message.level == "error"
    assert "billing-export.xlsx" in window.message.text.text()
    assert window.dataset is None  # nothing half-loaded
    # still usable: a good file opens afterwards (the demo workbook alone: every table but usage)
    open_and_wait(qtbot, window, demo_files[:1])
    assert window.dashboard.tile_texts()["mrr"] not in ("", "–")


def test_bad_file_next_to_good_ones_is_listed_and_the_rest_loads(qtbot, window, demo_files, tmp_path):
    bad = tmp_path / "old-export.xlsx"
    bad.write_bytes(b"\x00\x01garbage")
    open_and_wait(qtbot, window, [demo_files[0], bad])
    assert window.message.isVisible() and window.message.level == "error"
    assert "old-export.xlsx" in window.message.text.text()
    frame = window.problems.table.model.frame
    assert (frame["file"].astype(str).str.contains("old-export.xlsx")).any()
    assert window.dashboard.tiles  # the good files were analysed


def test_unrecognised_sheet_can_be_mapped_by_hand(qtbot, window, tmp_path):
    crm = tmp_path / "crm-export.csv"
    crm.write_text("Kundennummer,Firma,Betreuer\nK-1,Alpha GmbH,Maya\nK-2,Beta AG,Liam\n", encoding="utf-8")
    with qtbot.waitSignal(window.load_failed, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([str(crm)])
    assert window.message.action.isVisible() and window.message.action.text() == "Map columns…"
    with qtbot.waitSignal(window.runner.finished, timeout=LOAD_TIMEOUT_MS):
        window.message.action.click()
    dialog = window.mapping_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.choices[0].table is None  # not recognised
    dialog.table_box.setCurrentIndex(dialog.table_box.findData("accounts"))
    for field, column in (("account_id", "Kundennummer"), ("account_name", "Firma"), ("csm", "Betreuer")):
        box = dialog.field_combos[field]
        box.setCurrentIndex(box.findText(column))
    assert dialog.preview.model.frame["account_id"].tolist() == ["K-1", "K-2"]
    with qtbot.waitSignal(window.analysis_ready, timeout=LOAD_TIMEOUT_MS):
        dialog.accept()
    assert set(window.dataset.table("accounts")["account_name"]) == {"Alpha GmbH", "Beta AG"}
    assert window.mapping.entry_for(str(crm), None).columns["account_id"] == "Kundennummer"
