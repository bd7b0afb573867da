"""Settings that persist between runs (last model, source, budget, window layout).

QSettings in the platform's usual place; MESS_STUDIO_SETTINGS=FILE.ini puts them in
one INI file instead (tests, portable installs).
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings

ORGANISATION = "MESS Studio"
APPLICATION = "MESS Studio"
SETTINGS_ENV = "MESS_STUDIO_SETTINGS"


class Settings:
    """Typed access to the app's QSettings."""

    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get(SETTINGS_ENV)
        if path:
            self._qt = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._qt = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)

    @property
    def path(self) -> str:
        return self._qt.fileName()

    def get(self, key: str, default: Any = None) -> Any:
        value = self._qt.value(key, default)
        if default is None or value is None:
            return value
        kind = type(default)
        try:
            if kind is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        self._qt.setValue(key, value)

    def remove(self, key: str) -> None:
        self._qt.remove(key)

    def sync(self) -> None:
        self._qt.sync()
