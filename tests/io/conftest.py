"""Fixtures for tests/io: real files written in tmp_path."""
from __future__ import annotations

import pytest

from io_helpers import write_csv, write_xlsx


@pytest.fixture
def xlsx(tmp_path):
    def make(name, sheets):
        return write_xlsx(tmp_path / name, sheets)
    return make


@pytest.fixture
def csvfile(tmp_path):
    def make(name, rows, delimiter=",", encoding="utf-8"):
        return write_csv(tmp_path / name, rows, delimiter, encoding)
    return make
