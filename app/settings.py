"""Settings that persist between runs (last model, source, budget, window layout).

QSettings in the platform's usual place; MESS_STUDIO_SETTINGS=FILE.ini puts them in
one INI file instead (tests, portable installs).
"""

from __future__ import annotations

import math
import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "MESS Studio"
APPLICATION = "MESS Studio"
SETTINGS_ENV = "MESS_STUDIO_SETTINGS"
QT_INT_MIN, QT_INT_MAX = -(2**31), 2**31 - 1   # what a QSpinBox or QSlider can hold


class Settings:
    """Typed access to the app's QSettings."""

    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get(SETTINGS_ENV)
        if path:
            self._qt = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._qt = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)
        self.problems: list[str] = []   # bad stored values replaced by defaults (one line each)

    @property
    def path(self) -> str:
        return self._qt.fileName()

    def get(self, key: str, default: Any = None, *, minimum: float | None = None,
            maximum: float | None = None, choices: tuple | None = None) -> Any:
        """The value of ``key`` as the type of ``default``; ``default`` when it is absent.

        A stored value that cannot be read as that type, a number that is not finite or lies
        outside ``minimum``..``maximum`` (for whole numbers at most Qt's int range), or one
        not among ``choices`` is replaced: the default is returned, written back over the bad
        value, and the problem kept in ``problems`` (one line each) for the window to show.
        """
        value = self._qt.value(key, default)
        if default is None or value is None:
            return value
        kind = type(default)
        try:
            if kind is bool:
                result = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            else:
                result = kind(value)
        except (TypeError, ValueError, OverflowError):
            return self._replace(key, value, default, why=f"is not a {kind.__name__}")
        if kind in (int, float) and not isinstance(result, bool):
            low = minimum if minimum is not None else (QT_INT_MIN if kind is int else None)
            high = maximum if maximum is not None else (QT_INT_MAX if kind is int else None)
            if not math.isfinite(result):
                return self._replace(key, value, default, why="is not a finite number")
            if (low is not None and result < low) or (high is not None and result > high):
                bounds = f"is outside {low:g}..{high:g}" if low is not None and high is not None else "is out of range"
                return self._replace(key, value, default, why=bounds)
        if choices is not None and result not in choices:
            return self._replace(key, value, default, why=f"is not one of {', '.join(map(str, choices))}")
        return result

    def get_bytes(self, key: str) -> QByteArray | None:
        """A saved Qt state (window or splitter layout); a value of another kind is dropped (and reported)."""
        value = self._qt.value(key)
        if value is None or isinstance(value, QByteArray):
            return value
        if isinstance(value, bytes):
            return QByteArray(value)
        self.problems.append(f"{self.path}: [{key}] is not a saved layout; forgotten")
        self._qt.remove(key)
        return None

    def _replace(self, key: str, value: Any, default: Any, why: str) -> Any:
        self.problems.append(f"{self.path}: [{key}] = {str(value)[:40]!r} {why}; using {default!r}")
        self._qt.setValue(key, default)
        return default

    def set(self, key: str, value: Any) -> None:
        self._qt.setValue(key, value)

    def remove(self, key: str) -> None:
        self._qt.remove(key)

    def sync(self) -> None:
        self._qt.sync()
