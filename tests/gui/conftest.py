"""GUI tests (pytest-qt), headless: Qt's offscreen platform, isolated QSettings, a small demo."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("MPLBACKEND", "QtAgg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

try:  # without Qt (the engine-only install) the GUI tests are not collected at all
    import PySide6  # noqa: F401
    import pytestqt  # noqa: F401
except ImportError:  # pragma: no cover
    collect_ignore_glob = ["test_*.py"]

DEMO_ACCOUNTS = 180
DEMO_MONTHS = 24
LOAD_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory):
    """Every test's QSettings live in a throwaway ini file, never the user's."""
    path = tmp_path_factory.mktemp("settings") / "cs-desk-gui.ini"
    os.environ["CS_DESK_GUI_SETTINGS"] = str(path)
    yield path


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> list[Path]:
    """The demo portfolio written as input files once per session (cs_desk.demo)."""
    from cs_desk import demo

    folder = tmp_path_factory.mktemp("demo")
    frames = demo.generate(accounts=DEMO_ACCOUNTS, months=DEMO_MONTHS, seed=11)
    return [Path(p) for p in demo.write_demo_inputs(frames, folder)]


@pytest.fixture
def settings(tmp_path):
    from gui.settings import Settings

    s = Settings(tmp_path / "settings.ini")
    s.set_demo_folder(tmp_path / "demo-data")
    return s


@pytest.fixture
def window(qtbot, settings):
    from gui.main_window import MainWindow

    w = MainWindow(settings, demo_accounts=DEMO_ACCOUNTS, demo_months=DEMO_MONTHS)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.runner.cancel()
    w.runner.wait(10_000)


def open_and_wait(qtbot, window, paths, mapping=None):
    """Open files through the window and wait until the dashboard is filled."""
    with qtbot.waitSignal(window.analysis_ready, timeout=LOAD_TIMEOUT_MS):
        window.open_paths([str(p) for p in paths], mapping=mapping)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=LOAD_TIMEOUT_MS)
    return window.analysis


@pytest.fixture(scope="session")
def demo_results(demo_files):
    """The demo read and analysed once (the same gui.backend calls the window's jobs make), so
    tests that start from an open portfolio do not each pay for loading it."""
    from gui import backend

    dataset = backend.load_dataset([str(p) for p in demo_files])
    return dataset, backend.analyse(dataset)


@pytest.fixture
def loaded(qtbot, window, demo_files, demo_results):
    """A window with the demo portfolio open (loading itself is tested in test_open_and_dashboard)."""
    dataset, analysis = demo_results
    with qtbot.waitSignal(window.analysis_ready, timeout=LOAD_TIMEOUT_MS):
        window._loaded([str(p) for p in demo_files], None, dataset, analysis)
    return window
