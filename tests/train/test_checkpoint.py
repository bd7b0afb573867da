"""Training checkpoints: an atomic safetensors round trip of model, optimizer, RNG and info."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from core.errors import ModelFormatError
from core.train.checkpoint import load_checkpoint, read_info, save_checkpoint

INFO = {"stage": 2, "epoch": 3, "step": 41, "nested": {"list": [1, 2.5, "x"], "none": None}}


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))


def make_optimizer(kind: str, model: nn.Module) -> torch.optim.Optimizer:
    if kind == "sgd":
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    return torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=1e-2)


def batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, 5, 6, generator=gen), torch.randint(0, 2, (2, 5, 6), generator=gen)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, seed: int) -> None:
    image, target = batch(seed)
    model.train()
    optimizer.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(image), target).backward()
    optimizer.step()


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_round_trip_then_one_more_step_matches_the_uncheckpointed_twin(tmp_path, kind):
    model = make_model()
    optimizer = make_optimizer(kind, model)
    for seed in range(3):
        train_step(model, optimizer, seed)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer, INFO)

    twin = make_model(seed=99)          # different initial weights: everything must come from the file
    twin_optimizer = make_optimizer(kind, twin)
    state, info = load_checkpoint(path, twin_optimizer)
    twin.load_state_dict(state)
    assert info == INFO

    for name, tensor in model.state_dict().items():     # weights and BatchNorm buffers
        assert torch.equal(twin.state_dict()[name], tensor), name
    restored = twin_optimizer.state_dict()["state"]
    for index, entry in optimizer.state_dict()["state"].items():
        keys = {"momentum_buffer"} if kind == "sgd" else {"exp_avg", "exp_avg_sq", "step"}
        assert keys <= set(entry), entry.keys()
        for key in keys:
            assert torch.equal(torch.as_tensor(restored[index][key]), torch.as_tensor(entry[key])), (index, key)
    assert twin_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]

    train_step(model, optimizer, seed=10)
    train_step(twin, twin_optimizer, seed=10)
    for (name, a), b in zip(model.named_parameters(), twin.parameters()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_losing_the_optimizer_state_would_be_visible(tmp_path, kind):
    """The twin check above can fail: with a fresh optimizer the next step differs."""
    model = make_model()
    optimizer = make_optimizer(kind, model)
    for seed in range(3):
        train_step(model, optimizer, seed)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer, INFO)
    twin = make_model(seed=99)
    twin_optimizer = make_optimizer(kind, twin)
    state, _ = load_checkpoint(path)            # optimizer state not restored
    twin.load_state_dict(state)
    train_step(model, optimizer, seed=10)
    train_step(twin, twin_optimizer, seed=10)
    assert not all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))


def test_restores_the_torch_rng(tmp_path):
    model = make_model()
    optimizer = make_optimizer("sgd", model)
    torch.manual_seed(1234)
    torch.rand(7)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer, INFO)
    after_save = torch.rand(5)
    torch.manual_seed(999)
    torch.rand(3)
    load_checkpoint(path, optimizer)
    assert torch.equal(torch.rand(5), after_save)


def test_info_round_trip_and_read_info_reads_info_only(tmp_path):
    model = make_model()
    optimizer = make_optimizer("adamw", model)
    train_step(model, optimizer, 0)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer, INFO)
    torch.manual_seed(5)
    rng_before = torch.get_rng_state()
    optimizer_before = optimizer.state_dict()
    assert read_info(path) == INFO
    assert torch.equal(torch.get_rng_state(), rng_before)      # the RNG is left alone
    assert optimizer.state_dict()["state"][0]["step"] == optimizer_before["state"][0]["step"]
    _, info = load_checkpoint(path)
    assert info == INFO


def test_no_temporary_file_remains_after_save(tmp_path):
    model = make_model()
    optimizer = make_optimizer("sgd", model)
    train_step(model, optimizer, 0)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer, {"epoch": 0})
    save_checkpoint(path, model.state_dict(), optimizer, {"epoch": 1})   # rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]
    assert read_info(path) == {"epoch": 1}


def test_a_failed_save_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path):
    model = make_model()
    optimizer = make_optimizer("sgd", model)
    train_step(model, optimizer, 0)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer, {"epoch": 0})
    shared = torch.zeros(4)
    bad_state = {"a": shared, "b": shared}   # safetensors refuses tensors sharing memory
    with pytest.raises(Exception):
        save_checkpoint(path, bad_state, optimizer, {"epoch": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]
    assert read_info(path) == {"epoch": 0}


def test_a_safetensors_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2, 2)}, str(path), metadata={"format": "mess-studio"})
    with pytest.raises(ModelFormatError, match="not a MESS training checkpoint"):
        load_checkpoint(path)
    with pytest.raises(ModelFormatError, match="not a MESS training checkpoint"):
        read_info(path)


@pytest.mark.parametrize("reader", [load_checkpoint, read_info], ids=["load_checkpoint", "read_info"])
def test_a_truncated_checkpoint_gives_a_one_line_model_format_error(tmp_path, reader):
    model = make_model()
    optimizer = make_optimizer("sgd", model)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model.state_dict(), optimizer, INFO)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError) as caught:
        reader(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
