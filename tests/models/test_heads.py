"""The early-exit head design space: keys, validation, shapes, RDI and CRM."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from core.errors import ConfigError
from core.models.heads import (
    CRM_CHOICES,
    HEAD_PRESETS,
    MAX_EXTRA_BLOCKS,
    ASPPLiteClassifier,
    ExitHead,
    FCNClassifier,
    HeadConfig,
)

KINDS = ("fcn", "dlb")
ALL_CONFIGS = [HeadConfig(kind, crm, blocks, rdi)
               for kind, crm, blocks, rdi in itertools.product(KINDS, CRM_CHOICES, range(MAX_EXTRA_BLOCKS + 1),
                                                               (False, True))]
CHANNELS = (24, 160)
STRIDES = (4, 8, 16, 32)
IMAGE = (64, 96)
NUM_CLASSES = 11


def expected_channels(crm: str, in_channels: int) -> int:
    return {"none": in_channels, "half": max(in_channels // 2, 8), "quarter": max(in_channels // 4, 8),
            "64": min(in_channels, 64), "128": min(in_channels, 128)}[crm]


def test_fixed_reduction_never_widens_a_thin_feature_map():
    assert HeadConfig("fcn", "128", 0).reduced_channels(24) == 24
    assert HeadConfig("fcn", "64", 0).reduced_channels(960) == 64


def convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


# --- keys ------------------------------------------------------------------------------------

def test_design_space_size():
    assert len(ALL_CONFIGS) == 2 * 5 * 5 * 2
    assert CRM_CHOICES == ("none", "half", "quarter", "64", "128")


def test_key_parse_round_trip_for_every_config():
    keys = set()
    for config in ALL_CONFIGS:
        key = config.key()
        assert HeadConfig.parse(key) == config, key
        assert HeadConfig.parse(key).key() == key
        keys.add(key)
    assert len(keys) == len(ALL_CONFIGS), "two configurations share a key"


@pytest.mark.parametrize("config,key", [
    (HeadConfig("fcn", "128", 2, rdi=True), "fcn-c128-b2-rdi"),
    (HeadConfig("dlb", "half", 0), "dlb-chalf-b0"),
    (HeadConfig(), "fcn-cnone-b0"),
    (HeadConfig("dlb", "quarter", 4, True), "dlb-cquarter-b4-rdi"),
])
def test_key_format(config, key):
    assert config.key() == key
    assert HeadConfig.parse(key) == config


@pytest.mark.parametrize("key", [
    "", "fcn", "fcn-c64", "fcn-c64-b", "fcn-64-b2", "fcn-c64-2", "fcn-c64-b2-", "fcn-c64-b2-rdi-x",
    "fcn-c64-b2-RDI", "FCN-c64-b2", "fcn_c64_b2", " fcn-c64-b2", "fcn-c64-b2 ", "fcn-c64-b12",
    "fcn-c64-b2\n", "fcn-c64-b-1",
])
def test_malformed_keys_raise_config_error(key):
    with pytest.raises(ConfigError) as err:
        HeadConfig.parse(key)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("key,word", [
    ("xyz-c64-b2", "xyz"),       # unknown head type
    ("fcn-c32-b2", "32"),        # unknown channel reduction
    ("fcn-chalve-b2", "halve"),
    ("dlb-c64-b5", "5"),         # too many extra blocks
    ("fcn-c64-b9-rdi", "9"),
])
def test_well_formed_keys_with_bad_values_raise_config_error(key, word):
    with pytest.raises(ConfigError) as err:
        HeadConfig.parse(key)
    assert word in str(err.value)


@pytest.mark.parametrize("kwargs", [
    {"kind": "aspp"}, {"kind": ""}, {"crm": "32"}, {"crm": "Half"}, {"crm": 64},
    {"blocks": -1}, {"blocks": MAX_EXTRA_BLOCKS + 1},
])
def test_bad_values_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        HeadConfig(**kwargs)


@pytest.mark.parametrize("blocks", [2.5, "2"])
def test_non_integer_block_counts_raise_config_error(blocks):
    """A non-integer block count cannot be a head (its key would not parse back)."""
    with pytest.raises(ConfigError):
        HeadConfig("fcn", "64", blocks)


def test_presets_are_valid_round_tripping_heads():
    assert {"light", "standard", "wide"} <= set(HEAD_PRESETS.names())
    for name in HEAD_PRESETS:
        for config in HEAD_PRESETS.get(name):
            assert HeadConfig.parse(config.key()) == config


# --- building --------------------------------------------------------------------------------

@pytest.mark.parametrize("config", ALL_CONFIGS, ids=[c.key() for c in ALL_CONFIGS])
def test_every_head_builds_and_keeps_feature_resolution(config):
    for channels, stride in itertools.product(CHANNELS, STRIDES):
        head = ExitHead(config, channels, stride, NUM_CLASSES).eval()
        h, w = IMAGE[0] // stride, IMAGE[1] // stride
        with torch.no_grad():
            out = head(torch.randn(2, channels, h, w))
        assert out.shape == (2, NUM_CLASSES, h, w), (config.key(), channels, stride)
        assert torch.isfinite(out).all()
        classifier = FCNClassifier if config.kind == "fcn" else ASPPLiteClassifier
        assert isinstance(head.classifier, classifier)
        assert convs(head)[-1].out_channels == NUM_CLASSES


@pytest.mark.parametrize("blocks", range(1, MAX_EXTRA_BLOCKS + 1))
def test_rdi_sets_rapidly_increasing_dilation(blocks):
    plain = ExitHead(HeadConfig("fcn", "64", blocks, rdi=False), 40, 8, NUM_CLASSES)
    rdi = ExitHead(HeadConfig("fcn", "64", blocks, rdi=True), 40, 8, NUM_CLASSES)
    plain_convs = [block[0] for block in plain.blocks]
    rdi_convs = [block[0] for block in rdi.blocks]
    assert len(plain_convs) == len(rdi_convs) == blocks
    assert [c.dilation for c in plain_convs] == [(1, 1)] * blocks
    assert [c.dilation for c in rdi_convs] == [(2 ** (i + 1),) * 2 for i in range(blocks)]
    # padding follows the dilation, so the map keeps its size
    assert all(c.padding == c.dilation for c in rdi_convs)
    x = torch.randn(1, 40, 8, 12)  # a "64" reduction of 40 channels keeps 40
    assert rdi.blocks.eval()(x).shape == x.shape


def test_no_extra_blocks_means_no_block_convs():
    for rdi in (False, True):
        head = ExitHead(HeadConfig("dlb", "64", 0, rdi=rdi), 40, 8, NUM_CLASSES)
        assert len(head.blocks) == 0


@pytest.mark.parametrize("in_channels", CHANNELS)
@pytest.mark.parametrize("crm", CRM_CHOICES)
def test_crm_sets_the_channel_count(crm, in_channels):
    expected = expected_channels(crm, in_channels)
    assert HeadConfig("fcn", crm, 2).reduced_channels(in_channels) == expected
    for kind in KINDS:
        head = ExitHead(HeadConfig(kind, crm, 2), in_channels, 16, NUM_CLASSES)
        first = convs(head)[0]
        assert first.in_channels == in_channels
        if crm == "none":
            assert isinstance(head.reduce, nn.Identity)
        else:
            assert first.kernel_size == (1, 1)
            assert first.out_channels == expected
        for block in head.blocks:
            assert (block[0].in_channels, block[0].out_channels) == (expected, expected)
        if kind == "fcn":
            readers = [head.classifier.body[0]]
        else:
            readers = [branch[0] for branch in head.classifier.branches] + [head.classifier.pool[1]]
        assert [c.in_channels for c in readers] == [expected] * len(readers)
