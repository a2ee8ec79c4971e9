"""Persistent settings (QSettings): recent files, last mapping, window geometry, demo folder.

Tests (and portable installs) point ``CS_DESK_GUI_SETTINGS`` at an ini file so nothing touches
the user's real settings.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

ORG, APP = "cs-desk", "cs-desk-gui"
MAX_RECENT = 8
ENV = "CS_DESK_GUI_SETTINGS"


class Settings:
    def __init__(self, path: str | os.PathLike | None = None):
        path = path or os.environ.get(ENV)
        if path:
            self.q = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self.q = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)

    # -- recent files: each entry is one "open" (a list of paths opened together) --------------
    def recent(self) -> list[list[str]]:
        raw = self.q.value("recent", [])
        if isinstance(raw, str):
            raw = [raw]
        out = []
        for entry in raw or []:
            paths = [p for p in str(entry).split("\n") if p]
            if paths:
                out.append(paths)
        return out

    def add_recent(self, paths: list[str]) -> None:
        entry = "\n".join(str(Path(p)) for p in paths)
        items = ["\n".join(e) for e in self.recent()]
        items = [entry] + [i for i in items if i != entry]
        self.q.setValue("recent", items[:MAX_RECENT])
        self.q.sync()

    def clear_recent(self) -> None:
        self.q.remove("recent")

    # -- mapping, health model, folders ---------------------------------------------------------
    def _path_value(self, key: str) -> str | None:
        v = self.q.value(key)
        return str(v) if v else None

    @property
    def last_mapping(self) -> str | None:
        return self._path_value("last_mapping")

    @last_mapping.setter
    def last_mapping(self, path: str | None) -> None:
        self.q.setValue("last_mapping", str(path) if path else "")

    @property
    def last_health_model(self) -> str | None:
        return self._path_value("last_health_model")

    @last_health_model.setter
    def last_health_model(self, path: str | None) -> None:
        self.q.setValue("last_health_model", str(path) if path else "")

    @property
    def last_folder(self) -> str:
        return self._path_value("last_folder") or str(Path.home())

    @last_folder.setter
    def last_folder(self, path: str) -> None:
        self.q.setValue("last_folder", str(path))

    @property
    def first_run(self) -> bool:
        return not self.q.value("seen", False, type=bool)

    def mark_seen(self) -> None:
        self.q.setValue("seen", True)

    def demo_folder(self) -> Path:
        """Where "Open demo portfolio" writes its files (a per-user data folder)."""
        custom = self._path_value("demo_folder")
        if custom:
            return Path(custom)
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
        return Path(base or Path.home() / ".cs-desk") / "demo"

    def presets_folder(self) -> Path:
        """Named column-mapping presets (TOML, the same files as ``cs-desk map --save``)."""
        return self.demo_folder().parent / "mapping-presets"

    def set_demo_folder(self, path: str | os.PathLike) -> None:
        self.q.setValue("demo_folder", str(path))

    # -- window ---------------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        v = self.q.value("window/geometry")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        v = self.q.value("window/state")
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)
        self.q.sync()

    def sync(self) -> None:
        self.q.sync()
