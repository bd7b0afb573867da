"""convert_backbone: heads at candidate points, option checks, and pretrained torchvision weights."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import resnet18 as tv_resnet18
from torchvision.models.segmentation import fcn_resnet50, lraspp_mobilenet_v3_large

from core.data.classes import CLASS_SETS
from core.errors import ConfigError, ModelFormatError
from core.models import FINAL_EXIT, HeadConfig, convert_backbone
from core.models.pretrained import load_pretrained
from tests.models.conftest import randomize_state

HEADS = [HeadConfig("fcn", "64", 0), HeadConfig("dlb", "quarter", 1, rdi=True)]
MOBILENET_POINTS = ["features.3", "features.6", "features.10", "features.12", "features.14"]
RESNET18_POINTS = ["layer1", "layer2", "layer3", "layer4.0"]


def camvid():
    return CLASS_SETS.get("camvid")


def save_state(model: torch.nn.Module, path) -> str:
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path))
    return str(path)


# --- heads and points ------------------------------------------------------------------------

@pytest.mark.parametrize("backbone,points", [("mobilenet_v3_large", MOBILENET_POINTS), ("resnet18", RESNET18_POINTS)])
def test_heads_at_every_candidate_point(backbone, points):
    net = convert_backbone(backbone, camvid(), HEADS)
    assert list(net.exit_points) == points
    expected = [f"{p}:{h.key()}" for p in points for h in HEADS]
    early = net.exit_ids()[:-1]
    assert net.exit_ids()[-1] == FINAL_EXIT
    assert sorted(early) == sorted(expected)
    depth = [points.index(e.split(":")[0]) for e in early]
    assert depth == sorted(depth), "early exits are not listed shallow to deep"
    assert sorted(net.spec.exit_ids()) == sorted(expected)
    assert len(net.heads) == len(points) * len(HEADS)


def test_heads_only_at_given_points():
    net = convert_backbone("mobilenet_v3_large", camvid(), HEADS, points=["features.14", "features.6"])
    assert {e.split(":")[0] for e in net.exit_ids()[:-1]} == {"features.6", "features.14"}
    assert len(net.exit_ids()) == 2 * len(HEADS) + 1
    # early exits are listed shallow to deep whatever order the points were given in
    assert [e.split(":")[0] for e in net.exit_ids()[:-1]] == ["features.6"] * 2 + ["features.14"] * 2


def test_no_heads_gives_only_the_final_exit():
    net = convert_backbone("resnet18", camvid())
    assert net.exit_ids() == [FINAL_EXIT]
    assert net.spec.exit_heads == []


def test_heads_get_the_point_channels_and_the_class_count():
    net = convert_backbone("mobilenet_v3_large", camvid(), [HeadConfig("fcn", "none", 1)], points=["features.6"])
    head = net.head_module("features.6:fcn-cnone-b1")
    first = next(m for m in head.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == net.exit_points["features.6"].channels == 40
    assert head.classifier.classify.out_channels == 11


def test_unknown_backbone():
    with pytest.raises(ConfigError) as err:
        convert_backbone("vgg_nonexistent", camvid(), HEADS)
    assert "vgg_nonexistent" in str(err.value) and "\n" not in str(err.value)


def test_unknown_point():
    with pytest.raises(ConfigError) as err:
        convert_backbone("mobilenet_v3_large", camvid(), HEADS, points=["features.3", "layer2"])
    assert "layer2" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("backbone,stride", [("mobilenet_v3_large", 8), ("resnet18", 4), ("fcn_resnet50", 16),
                                             ("mobilenet_v3_large", "sixteen")])
def test_bad_output_stride(backbone, stride):
    with pytest.raises(ConfigError) as err:
        convert_backbone(backbone, camvid(), HEADS, options={"output_stride": stride})
    assert str(stride) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("options", [{"final_head": "unet"}, {"dilation": 2}])
def test_bad_options(options):
    with pytest.raises(ConfigError):
        convert_backbone("resnet18", camvid(), options=options)


@pytest.mark.parametrize("stride", [32, 16, 8])
def test_output_stride_option_sets_the_final_stride(stride):
    net = convert_backbone("resnet18", camvid(), [HeadConfig()], points=["layer3"], options={"output_stride": stride})
    assert net.spec.backbone_options["output_stride"] == stride
    assert net.exit_stride(FINAL_EXIT) == stride
    assert net.exit_stride("layer3:fcn-cnone-b0") == min(16, stride)
    with torch.no_grad():
        out = net.eval()(torch.randn(1, 3, 64, 96), exits=[FINAL_EXIT])
    assert out[FINAL_EXIT].shape == (1, 11, 64, 96)


def test_same_seed_gives_same_network():
    a = convert_backbone("mobilenet_v3_large", camvid(), HEADS[:1], points=["features.6"], seed=3)
    b = convert_backbone("mobilenet_v3_large", camvid(), HEADS[:1], points=["features.6"], seed=3)
    c = convert_backbone("mobilenet_v3_large", camvid(), HEADS[:1], points=["features.6"], seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


# --- pretrained torchvision weights ----------------------------------------------------------

def _check_same_output(tv_model, backbone: str, tmp_path, size, guard: bool):
    tv_model = randomize_state(tv_model).eval()
    weights = save_state(tv_model, tmp_path / "tv.safetensors")
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = tv_model(x)["out"]
        net = convert_backbone(backbone, camvid(), [HeadConfig("fcn", "64", 0)], points=None, weights=weights).eval()
        outs = net(x)
    converted = outs[FINAL_EXIT]
    assert converted.shape == reference.shape == (1, 11, *size)
    assert (converted - reference).abs().max().item() < 1e-5
    # the early exits work on the loaded network
    assert len(outs) == len(net.exit_points) + 1
    assert all(o.shape == (1, 11, *size) for o in outs.values())
    if guard:
        # without the weights the outputs differ, so the comparison above means something
        with torch.no_grad():
            unloaded = convert_backbone(backbone, camvid()).eval()(x, exits=[FINAL_EXIT])[FINAL_EXIT]
        assert (unloaded - reference).abs().max().item() > 1e-3


def test_lraspp_mobilenet_v3_large_weights_give_torchvision_output(tmp_path):
    tv = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=11)
    _check_same_output(tv, "lraspp_mobilenet_v3_large", tmp_path, (64, 96), guard=True)


def test_fcn_resnet50_weights_give_torchvision_output(tmp_path):
    # aux_classifier tensors are in the file and must simply be ignored
    tv = fcn_resnet50(weights=None, weights_backbone=None, num_classes=11, aux_loss=True)
    assert any(k.startswith("aux_classifier.") for k in tv.state_dict())
    _check_same_output(tv, "fcn_resnet50", tmp_path, (64, 64), guard=False)


def test_imagenet_weights_load_into_a_plain_backbone(tmp_path):
    tv = randomize_state(tv_resnet18(weights=None))
    weights = save_state(tv, tmp_path / "resnet18.safetensors")
    net = convert_backbone("resnet18", camvid(), [HeadConfig()], points=["layer2"], weights=weights)
    stem = net.segments[0][0]
    assert torch.equal(stem[0].weight, tv.conv1.weight)
    assert torch.equal(stem[1].running_var, tv.bn1.running_var)
    layer3_block = net.segments[2][-1]  # segment 2 ends with layer3
    assert torch.equal(layer3_block.conv2.weight, tv.layer3[1].conv2.weight)


def test_weights_with_no_matching_names(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"encoder.stage1.weight": torch.zeros(3, 3), "decoder.bias": torch.zeros(3)}, str(path))
    with pytest.raises(ModelFormatError) as err:
        convert_backbone("lraspp_mobilenet_v3_large", camvid(), weights=path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(ModelFormatError) as err:
        convert_backbone("resnet18", camvid(), weights=path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


LRASPP_CLASSIFIERS = ["classifier.low_classifier.weight", "classifier.low_classifier.bias",
                      "classifier.high_classifier.weight", "classifier.high_classifier.bias"]


def test_classifier_of_another_class_count_is_skipped(tmp_path):
    tv21 = randomize_state(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)).eval()
    weights = save_state(tv21, tmp_path / "voc.safetensors")

    target = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=11)
    report = load_pretrained(target, weights)
    assert sorted(report.skipped_shape) == sorted(LRASPP_CLASSIFIERS)
    assert report.loaded == len(tv21.state_dict()) - len(LRASPP_CLASSIFIERS)
    assert sorted(report.missing) == sorted(LRASPP_CLASSIFIERS)

    net = convert_backbone("lraspp_mobilenet_v3_large", camvid(), weights=weights).eval()
    # every backbone block holds the file's tensors...
    blocks = [block for segment in net.segments for block in segment]
    assert len(blocks) == 17
    for i, block in enumerate(blocks):
        mine, theirs = block.state_dict(), tv21.backbone[str(i)].state_dict()
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine), f"backbone block {i} was not loaded"
    # ...and so did the shared part of the head, but not the 21-class classifiers
    head = net.final_head.head
    assert torch.equal(head.cbr[0].weight, tv21.classifier.cbr[0].weight)
    assert torch.equal(head.scale[1].weight, tv21.classifier.scale[1].weight)
    assert head.low_classifier.weight.shape[0] == head.high_classifier.weight.shape[0] == 11
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 96), exits=[FINAL_EXIT])[FINAL_EXIT]
    assert out.shape == (1, 11, 64, 96)
