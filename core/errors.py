"""Error types of the engine.

Every error a user can cause (bad file, bad value) is a ``MessError`` whose
message is one line naming the file or value at fault. The command line prints
that line and exits non-zero; the GUI shows it in the window.
"""

from __future__ import annotations


class MessError(Exception):
    """A user-facing error: one line that names the file or value at fault."""


class DataError(MessError):
    """A dataset file or folder is missing, unreadable or inconsistent."""


class ModelFormatError(MessError):
    """A model folder, its model.json or its weights cannot be used."""


class ConfigError(MessError):
    """A configuration value (exit config, option, name) is invalid."""


class SourceError(MessError):
    """A video source (webcam, file, folder, stream) cannot be opened or stopped delivering."""
