"""mess export: a network's pieces as ONNX or OpenVINO graphs, a manifest, and a torch-free runner.

With an exit configuration, the export holds one graph per backbone run between
consecutive kept exits and one per kept head; without one, every single segment and
every head, so that the export can be re-configured later. ``manifest.json``
(versioned) lists each graph file with its SHA-256 and says everything the runner
needs: exits, thresholds, policy, normalisation, classes and palette, input size,
and the latency table the configuration was searched with. ``run.py`` (and the host
code beside it, ``mess_host.py``, the very file the engine routes with) needs only
numpy, OpenCV and onnxruntime or openvino.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from core.deploy.graph_store import GraphStore, export_piece
from core.deploy.pieces import PieceKey, feature_shapes, head_taps, io_names, taps_made
from core.deploy.quantize import Int8Graphs, PieceInputs, load_images, quantize_graph
from core.errors import ConfigError
from core.jobs import CancelToken, Job, Progress
from core.models.io import sha256_of
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig

MANIFEST_VERSION = 1
MANIFEST = "manifest.json"
FORMATS = {"onnx": "onnxruntime", "openvino": "openvino"}
FORMAT_PRECISIONS = {"onnx": ("fp32", "int8"), "openvino": ("fp32", "bf16", "int8")}
RUNNER_FILES = ("run.py", "mess_host.py")
HERE = Path(__file__).resolve().parent


def export_keys(net: MultiExitNet, config: ExitConfig | None) -> list[PieceKey]:
    """The pieces an export holds (see the module doc)."""
    if config is None:
        return ([PieceKey.segments(k, k) for k in range(len(net.segments))]
                + [PieceKey.head(e) for e in net.exit_ids()])
    keys, done = [], -1
    for exit_id in config.exits:
        stop = net.exit_segment(exit_id)
        if stop > done:
            keys.append(PieceKey.segments(done + 1, stop))
            done = stop
        keys.append(PieceKey.head(exit_id))
    return keys


def _to_openvino(onnx_path: Path, xml_path: Path) -> list[Path]:
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    ov.save_model(model, str(xml_path), compress_to_fp16=False)
    return [xml_path, xml_path.with_suffix(".bin")]


def _int8_inputs(net: MultiExitNet, size: tuple[int, int]):
    """The stored int8 calibration of ``net`` at ``size`` (``mess quantize``) and its pieces' inputs."""
    store = GraphStore(net, size)
    record = Int8Graphs(store).calibration          # the same check as the backends': one line when missing
    return record, PieceInputs(net, load_images(store.folder))


def check_export_request(fmt: str, precision: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    if precision not in FORMAT_PRECISIONS[fmt]:
        raise ConfigError(f"format {fmt} exports precision {', '.join(FORMAT_PRECISIONS[fmt])}, not '{precision}'")
    from core.runtime.backends import BACKENDS

    reason = BACKENDS.get(FORMATS[fmt]).unavailable_reason()
    if reason:
        raise ConfigError(f"format {fmt}: {reason}")


def export_model(net: MultiExitNet, out: Path, *, fmt: str = "onnx", precision: str = "fp32",
                 config: ExitConfig | None = None, input_size: tuple[int, int] | None = None,
                 model_name: str = "", weights_sha256: str = "", latency_table: dict | None = None,
                 cancel: CancelToken | None = None) -> Job[dict]:
    """Job: write the export folder ``out`` (all or nothing: built beside it, then renamed); returns the manifest."""
    check_export_request(fmt, precision)
    cancel = cancel or CancelToken()
    size = tuple(input_size or net.spec.input_size or (360, 480))
    if config is not None:
        from core.runtime.early_exit import config_steps

        config_steps(net, config)  # the configuration fits this model
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out}: exists and is not an empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part"))
    try:
        net = net.cpu().eval()
        keys = export_keys(net, config)
        shapes = feature_shapes(net, size)
        int8 = _int8_inputs(net, size) if precision == "int8" else None
        graphs = []
        for i, key in enumerate(keys):
            cancel.check()
            yield Progress("export", i, len(keys), message=f"graph {i + 1}/{len(keys)}: {key.name}")
            onnx_path = building / f"{key.name}.onnx"
            export_piece(net, key, size, path=onnx_path, shapes=shapes)
            if int8 is not None:
                fp32_path = onnx_path.with_name(f"{key.name}.fp32.onnx")
                os.replace(onnx_path, fp32_path)
                quantize_graph(fp32_path, onnx_path, input_names=io_names(net, key)[0], samples=int8[1].of(key),
                               scheme=int8[0].scheme)
                fp32_path.unlink()
            files = [onnx_path]
            if fmt == "openvino":
                files = _to_openvino(onnx_path, building / f"{key.name}.xml")
                onnx_path.unlink()
            inputs, outputs = io_names(net, key)
            graphs.append({
                "name": key.name, "kind": key.kind, "start": key.start, "stop": key.stop, "exit": key.exit_id or None,
                "file": files[0].name, "sha256": sha256_of(files[0]),
                "weights_file": files[1].name if len(files) > 1 else None,
                "weights_sha256": sha256_of(files[1]) if len(files) > 1 else None,
                "inputs": inputs, "outputs": outputs,
                "taps": taps_made(net, key.start, key.stop) if key.kind == "segments" else head_taps(net, key.exit_id),
            })
        spec = net.spec
        exits = config.exits if config is not None else net.exit_ids()
        manifest = {
            "format": "mess-export",
            "format_version": MANIFEST_VERSION,
            "model": {"name": model_name, "backbone": spec.backbone, "weights_sha256": weights_sha256},
            "runtime": FORMATS[fmt],
            "graph_format": fmt,
            "precision": precision,
            "input_size": list(size),
            "normalisation": {"mean": list(spec.mean), "std": list(spec.std), "input": "RGB, 0..1, NCHW float32"},
            "classes": {"names": list(spec.classes.names), "palette": [list(c) for c in spec.classes.palette]},
            "segments": len(net.segments),
            "tap_segments": dict(net.taps),
            "exits": [{"exit": e, "segment": net.exit_segment(e), "stride": net.exit_stride(e),
                       "head_taps": head_taps(net, e)} for e in exits],
            "config": config.to_json() if config is not None else ExitConfig.static(FINAL_EXIT).to_json(),
            "configured": config is not None,
            "graphs": graphs,
            "latency_table": latency_table,
            "int8_calibration": {**int8[0].to_json(), "method": int8[0].method} if int8 is not None else None,
        }
        (building / MANIFEST).write_text(json.dumps(manifest, indent=2))
        for name in RUNNER_FILES:
            source = HERE / "runner.py" if name == "run.py" else HERE.parent / "runtime" / "host.py"
            shutil.copyfile(source, building / name)
        yield Progress("export", len(keys), len(keys), message=f"{len(keys)} graphs written")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(building, 0o777 & ~umask)  # mkdtemp made it private
        if out.exists():
            out.rmdir()
        os.replace(building, out)
        return manifest
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
