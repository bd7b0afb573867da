"""Writing outputs all or nothing: a temporary file beside the target, renamed into place.

Temporary files are hidden (``.NAME.<writer's pid>-<random>.tmp``), made with the permissions the umask
gives (``tempfile.mkstemp`` alone makes them 0600, and the renamed output kept that), and
removed on any error. A full disk or a read-only folder is a ``MessError`` naming the file,
one line, and the previous file at that path stays as it was. ``commit_together`` puts several
files in place as one step (a model folder's weights and model.json): every file is written and
flushed before the first rename, and the renames run with SIGINT and SIGTERM held back, so a full
disk or a signal changes none of them. ``clean_stale_temps`` removes what a killed process
(SIGKILL, power loss) left behind.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from core.errors import MessError
from core.interrupts import interrupts_deferred

TEMP_SUFFIX = ".tmp"


class WriteError(MessError):
    """An output could not be written (disk full, read-only folder...): nothing half-written is left."""


def write_failure(exc: BaseException) -> str:
    """The reason a write failed, short: 'No space left on device', 'Read-only file system'..."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    for reason in ("No space left on device", "Read-only file system", "Permission denied", "Disk quota exceeded"):
        if reason in text:
            return reason
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_beside(path: Path, prefix: str | None = None, suffix: str = TEMP_SUFFIX) -> Path:
    """An empty hidden temporary file beside ``path``, with the umask's permissions (``suffix``: a
    recording's keeps the video's extension, so that the writer picks the same container)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # the writer's process id in the name: clean_stale_temps knows a dead writer's file at once
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{prefix or f'.{path.name}.'}{os.getpid()}-",
                                   suffix=suffix)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
    except OSError as exc:
        raise WriteError(f"{path}: cannot write in {path.parent} ({exc.strerror or exc})") from None
    return Path(tmp)


def _unchanged(path: Path, exc: BaseException) -> WriteError:
    return WriteError(f"{path}: cannot write ({write_failure(exc)}); the previous file, if any, is unchanged")


def _flush(tmp: Path) -> None:
    """The umask's permissions (a writer such as safetensors' makes its own 0600 file) and fsync."""
    os.chmod(tmp, 0o666 & ~_umask())
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())


def commit(tmp: Path, path: Path) -> None:
    """fsync ``tmp`` and rename it over ``path``; on failure remove it and raise WriteError."""
    commit_together([(Path(tmp), Path(path))])


def commit_together(pairs: list[tuple[Path, Path]]) -> None:
    """Rename each written temporary file over its target, all or none: every file is flushed first
    (a failure there removes every temporary and changes no target), then the renames run with
    SIGINT and SIGTERM held back. WriteError names the target that failed."""
    pairs = [(Path(tmp), Path(path)) for tmp, path in pairs]
    try:
        for tmp, path in pairs:
            try:
                _flush(tmp)
            except OSError as exc:
                raise _unchanged(path, exc) from None
        with interrupts_deferred():
            for tmp, path in pairs:
                try:
                    os.replace(tmp, path)
                except OSError as exc:
                    raise _unchanged(path, exc) from None
    except BaseException:               # also Ctrl-C or SIGTERM (core.cli.main.Terminated) during a flush
        for tmp, _ in pairs:
            tmp.unlink(missing_ok=True)
        raise


def stage_bytes(path: Path, data: bytes) -> Path:
    """A hidden temporary file beside ``path`` holding ``data``, for ``commit``; WriteError, and nothing
    left, when it cannot be written."""
    path = Path(path)
    tmp = temp_beside(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _unchanged(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_bytes_atomic(path: Path, data: bytes) -> None:
    commit(stage_bytes(path, data), Path(path))


_WRITER = re.compile(r"\.(\d+)-\w+" + re.escape(TEMP_SUFFIX) + "$")


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:                     # another user's process: alive
        return True
    return True


def clean_stale_temps(folder: Path, older_than_s: float = 60.0) -> list[Path]:
    """Remove the hidden ``.*.tmp`` files this module made in ``folder`` that no running writer will
    rename: those whose writer process (named in the file name) is gone, and, for names without one
    (older versions), those older than ``older_than_s``. Returns what was removed."""
    removed = []
    now = time.time()
    try:
        candidates = list(Path(folder).glob(f".*{TEMP_SUFFIX}"))
    except OSError:
        return removed
    for path in candidates:
        writer = _WRITER.search(path.name)
        try:
            if not path.is_file():
                continue
            stale = (not _writer_alive(int(writer.group(1))) if writer
                     else now - path.stat().st_mtime > older_than_s)
            if stale:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed
