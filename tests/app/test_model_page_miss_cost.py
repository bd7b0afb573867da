"""The Model page says what a miss costs at each head (head + exit policy, and the policy's share)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.pages import model_page
from app.pages.model_page import ModelPage
from app.state import AppState
from core.models.spec import FINAL_EXIT
from core.profile.cache import CostCache
from core.profile.miss_cost import UNKNOWN_SPLIT
from core.runtime.config import ExitConfig
from tests.data.builders import write_tiny_model

from .conftest import LOAD_TIMEOUT_MS, shown_model_page

EARLY = ["features.6:fcn-c64-b0", "features.12:fcn-c64-b0"]


@pytest.fixture
def page(qtbot, settings, tmp_path, monkeypatch):
    """The Model page on a tiny model (48x64), its costs measured here on a fresh cache."""
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())
    state = AppState(device="cpu", backend="torch")
    with qtbot.waitSignal(state.model_changed, timeout=LOAD_TIMEOUT_MS):
        state.open_model(write_tiny_model(tmp_path / "tiny", (48, 64)))
    page = shown_model_page(qtbot, state, settings)
    yield page
    page.shutdown()
    state.wait()


def painted(page: ModelPage) -> dict[str, tuple[tuple[str, ...], str]]:
    """Per exit: the lines painted in its block and its tool tip."""
    page.diagram.repaint()
    return {hit.tip.splitlines()[0].split("  ")[0]: (hit.lines, hit.tip) for hit in page.diagram._hits if hit.lines}


def test_each_head_shows_its_miss_cost_and_the_policys_share(page, qtbot, tmp_path):
    table = page.table
    blocks = painted(page)
    assert set(blocks) == {*EARLY, FINAL_EXIT}
    for exit_id in EARLY:
        piece = table.heads[exit_id]
        assert piece.policy_ms is not None and piece.policy_ms > 0
        lines, tip = blocks[exit_id]
        share = 100 * piece.policy_ms / piece.latency_ms
        assert lines[0].endswith(f" · {piece.latency_ms - piece.policy_ms:.1f} ms"), "the head alone"
        assert lines[1] == f"miss {piece.latency_ms:.1f} ms · policy {share:.0f} %"
        assert f"a miss at {exit_id} costs {piece.latency_ms:.1f} ms (head " in tip
        assert f"the exit policy is {share:.0f} % of it ({piece.policy_ms:.2f} ms)" in tip
    assert blocks[FINAL_EXIT][0][2] == f"+ policy {table.heads[FINAL_EXIT].policy_ms:.1f} ms"
    page.state.set_config(ExitConfig([EARLY[1], FINAL_EXIT], [0.9, 0.9], [0.8, 0.0]))
    page.grab().save(str(tmp_path / "model_page_miss_cost.png"))
    assert (tmp_path / "model_page_miss_cost.png").stat().st_size > 10_000


def test_a_table_from_before_policy_ms_shows_the_split_as_unknown(page, qtbot, tmp_path, monkeypatch):
    data = page.table.to_json()
    data["format_version"] = 1
    for piece in data["heads"].values():
        del piece["policy_ms"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(old), "")))
    qtbot.mouseClick(page.load_table_button, Qt.MouseButton.LeftButton)
    assert page.table_source == str(old)
    blocks = painted(page)
    for exit_id in EARLY:
        lines, tip = blocks[exit_id]
        miss_ms = data["heads"][exit_id]["latency_ms"]
        assert lines[0].endswith(" · ? ms") and lines[1] == f"miss {miss_ms:.1f} ms · policy ?"
        assert UNKNOWN_SPLIT in tip and "0 %" not in lines[1]
