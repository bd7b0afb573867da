"""All-or-nothing outputs get the umask's permissions (the fault cases are in tests/faults)."""

from __future__ import annotations

import os


from core.fileio import write_json_atomic


def test_outputs_get_the_umasks_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
