"""DDP under torchrun on the CPU (gloo): two processes train one tiny run; only rank 0 writes."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch

from core.models import load_model
from core.train.config import TrainConfig

from .conftest import PYTHON, REPO_ROOT, subprocess_env, tiny_argv

pytestmark = pytest.mark.slow


def torchrun_train(*train_args: str) -> subprocess.CompletedProcess:
    """`mess train ARGS` on 2 CPU processes under torchrun; it must exit 0 with one 'trained model:' line."""
    command = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "core.cli", "train", *train_args]
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=subprocess_env(), capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"torchrun did not finish in 300 s:\n{exc.stdout}\n{exc.stderr}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert done.stdout.count("trained model:") == 1, output[-4000:]     # only rank 0 reports
    return done


def test_two_process_run_under_torchrun(tiny_data, tmp_path):
    out = tmp_path / "ddp"
    argv = tiny_argv(tiny_data, out, epochs=1)
    torchrun_train(*argv)

    net, info = load_model(out / "model")
    assert len(net.exit_ids()) - 1 == len(net.exit_points)
    assert set(info.metrics["val_miou"]) == set(net.exit_ids())
    assert info.provenance["processes"] == 2

    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert [(r["stage"], r["epoch"]) for r in lines] == [(1, 0), (2, 0)]      # rank 0 alone writes
    # 6 images over 2 processes with 2 images each per step: one step per epoch.
    assert [r["step"] for r in lines] == [1, 1]

    runs = sorted(p.relative_to(out) for p in out.rglob("run.json"))
    assert [str(p) for p in runs] == ["run.json"]
    config = TrainConfig.load(out / "run.json")
    assert config.epochs_stage1 == config.epochs_stage2 == 1
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["stage1.safetensors", "stage2.safetensors"]
    assert not [p for p in out.rglob("*.tmp")]

    # Stage 2 froze the backbone and final head here too.
    stage1, _ = load_model(out / "stage1-model")
    final = net.state_dict()
    for name, tensor in stage1.state_dict().items():
        assert torch.equal(final[name], tensor), name


def test_a_recipe_under_torchrun_runs_every_phase_on_both_processes(tiny_data, tmp_path):
    """Two phases in one process group: rank 1 never sees rank 0's files as 'another run'."""
    recipe = tmp_path / "recipe.json"
    common = {"backbone": "mobilenet_v3_large", "batch_size": 2, "crop": [32, 48], "stage2_heads": "fcn-c64-b0",
              "device": "cpu"}
    recipe.write_text(json.dumps({"format_version": 1, "common": common,
                                  "phases": [{"stage": "1", "epochs_stage1": 1}, {"stage": "2", "epochs_stage2": 1}]}))
    out = tmp_path / "recipe-run"
    torchrun_train("--recipe", str(recipe), "--data", str(tiny_data), "--out", str(out))
    net, info = load_model(out / "model")
    assert info.provenance["processes"] == 2 and info.provenance["stage"] == 2
    assert TrainConfig.load(out / "phase-2" / "run.json").init_model == str(out / "phase-1" / "stage1-model")
    assert not [p for p in out.rglob("*.tmp")] and not (out / "model.partial").exists()
