"""The Runtime menu: the execution backend that the Model, Search and Live pages measure and run with."""

from __future__ import annotations

import pytest

from app.main import choose_backend
from app.state import AppState
from core.runtime.backends import BACKENDS, available_backends
from core.runtime.backends.openvino_backend import supports_bf16 as bf16_available

from .test_live_page import page, play, write_clip  # noqa: F401 - fixtures and helpers


def need(name: str) -> None:
    reason = BACKENDS.get(name).unavailable_reason()
    if reason:
        pytest.skip(f"backend {name}: {reason}")


def test_the_menu_lists_every_backend_and_persists_the_choice(window, settings, qtbot):
    need("onnxruntime")
    actions = window.backend_actions
    assert list(actions) == BACKENDS.names() == ["torch", "onnxruntime", "openvino"]
    assert (actions["torch"].isChecked()
            and window.findChild(type(window._backend_label), "backend-label").text() == "torch fp32")
    for name, action in actions.items():
        assert action.isEnabled() == (name in available_backends()) and action.toolTip()
    with qtbot.waitSignal(window.state.backend_changed) as signal:
        actions["onnxruntime"].trigger()
    assert signal.args == ["onnxruntime", "fp32"] and window.state.backend == "onnxruntime"
    assert actions["onnxruntime"].isChecked() and not actions["torch"].isChecked()
    assert settings.get("runtime/backend") == "onnxruntime" and window._backend_label.text() == "onnxruntime fp32"


def test_bf16_chooses_openvino_where_the_cpu_has_it(window, settings):
    need("openvino")
    if not bf16_available():
        pytest.skip("this CPU has no bfloat16 kernels for OpenVINO")
    window.bf16_action.setChecked(True)
    assert (window.state.backend, window.state.precision) == ("openvino", "bf16")
    assert window.backend_actions["openvino"].isChecked() and settings.get("runtime/precision") == "bf16"
    window.bf16_action.setChecked(False)
    assert (window.state.backend, window.state.precision) == ("openvino", "fp32")


def test_a_remembered_backend_that_cannot_run_is_dropped(settings, monkeypatch, capsys):
    settings.set("runtime/backend", "tensorrt")
    state = AppState(device="cpu")
    choose_backend(state, settings, None, None)
    assert settings.get("runtime/backend") is None and state.backend in available_backends()
    assert "the remembered backend cannot run here" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown backend 'tensorrt'"):
        choose_backend(state, settings, "tensorrt", None)


def test_the_live_page_plays_on_the_chosen_backend(window, page, qtbot, tmp_path):  # noqa: F811
    need("onnxruntime")
    window.backend_actions["onnxruntime"].trigger()
    play(qtbot, page, "file", write_clip(tmp_path / "clip.mp4"), frames=2)
    assert page._worker._runner.backend == "onnxruntime"
    assert page.readouts.text("exit") == "final"


def test_the_search_page_says_which_backend_measures(window):
    need("onnxruntime")
    page = window.pages["search"]  # noqa: F811
    assert page.here_radio.text().startswith("This machine, torch fp32")
    window.backend_actions["onnxruntime"].trigger()
    assert page.here_radio.text().startswith("This machine, onnxruntime fp32")


def test_a_running_clip_moves_to_a_new_backend_and_torch_falls_back_to_fp32(window, page, qtbot, tmp_path):  # noqa: F811
    need("onnxruntime")
    play(qtbot, page, "file", write_clip(tmp_path / "clip.mp4"), frames=1)
    assert page._worker._runner.backend == "torch"
    window.backend_actions["onnxruntime"].trigger()
    qtbot.waitUntil(lambda: page._worker is not None and page._worker._runner is not None
                    and page._worker._runner.backend == "onnxruntime", timeout=90_000)
    assert "Runtime changed: playing on onnxruntime fp32" in page.status.text() or page.running


def test_precision_is_checked_against_the_backend_that_will_run(window, monkeypatch):
    from core.errors import ConfigError

    state = AppState(device="cpu")
    with pytest.raises(ConfigError, match="runs precision fp32, int8, not 'bf16'"):
        state.set_backend("onnxruntime", "bf16")
    need("openvino")
    if bf16_available():
        window.choose_backend("openvino", "bf16")
        window.backend_actions["torch"].trigger()      # torch runs fp32 only: the precision follows
        assert (window.state.backend, window.state.precision) == ("torch", "fp32")


def test_int8_runs_on_a_graph_backend_and_gives_way_to_torch(window, settings):
    need("onnxruntime")
    window.backend_actions["onnxruntime"].trigger()
    window.int8_action.setChecked(True)
    assert (window.state.backend, window.state.precision) == ("onnxruntime", "int8")
    assert settings.get("runtime/precision") == "int8" and window._backend_label.text() == "onnxruntime int8"
    assert not window.bf16_action.isChecked()
    window.backend_actions["torch"].trigger()          # torch runs fp32 only: the precision follows
    assert (window.state.backend, window.state.precision) == ("torch", "fp32") and not window.int8_action.isChecked()
    window.int8_action.setChecked(True)                # from torch, int8 moves to a backend that runs it
    assert window.state.precision == "int8" and window.state.backend in ("openvino", "onnxruntime")
    window.int8_action.setChecked(False)
    assert window.state.precision == "fp32"
