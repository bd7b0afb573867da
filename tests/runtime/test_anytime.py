"""Anytime mode: every kept exit's answer in depth order, each the same as that exit alone gives, with the
policy's decision reported; the first confident answer is where early exit would have left."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from core.data.classes import CLASS_SETS
from core.models import HeadConfig, convert_backbone
from core.runtime.early_exit import EarlyExitRunner, all_exit_labels
from core.runtime.live import LiveRunner
from core.runtime.backends.torch_backend import TorchPieces
from tests.runtime.test_early_exit import three_exit_config, three_images, trained_like


@pytest.fixture(scope="module")
def net():
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), heads=[HeadConfig("fcn", "64", 0)], seed=3)
    return trained_like(net.double().eval(), three_images())


def test_refinements_are_each_kept_exit_s_labels_and_the_first_confident_one_is_early_exit_s_choice(net):
    x = three_images()
    config = three_exit_config(net, x)
    runner = EarlyExitRunner(net, config)
    answers = list(runner.refinements(x))
    assert [a.exit_ids[0] for a in answers] == list(config.exits)
    every = all_exit_labels(net, TorchPieces(net), x)
    for answer in answers:
        assert torch.equal(answer.labels, every[answer.exit_ids[0]])
    assert answers[-1].confident == [True] * 3                  # the last kept exit always answers
    first_confident = [next(k for k, a in enumerate(answers) if a.confident[i]) for i in range(3)]
    assert first_confident == runner.run(x).exit_index
    assert sorted(set(first_confident)) == [0, 1, 2]            # the three images leave at three exits


def test_closing_the_generator_stops_before_the_deeper_segments_run(net):
    x = three_images()
    runner = EarlyExitRunner(net, three_exit_config(net, x))
    ran = []
    hooks = [segment.register_forward_hook(lambda m, i, o, k=k: ran.append(k)) for k, segment in
             enumerate(net.segments)]
    try:
        answers = runner.refinements(x)
        first = next(answers)
        answers.close()
    finally:
        for hook in hooks:
            hook.remove()
    assert max(ran) == net.exit_segment(first.exit_ids[0])      # nothing after the first kept exit ran


def test_a_live_frame_in_anytime_mode_lists_every_refinement_with_rising_times(net):
    x = three_images()
    config = three_exit_config(net, x)
    runner = LiveRunner(copy.deepcopy(net).float(), config, size=(64, 96), anytime=True)
    frame = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    steps = list(runner.refine(frame))
    assert [s.exit_id for s in steps] == list(config.exits)
    assert [len(s.refinements) for s in steps] == [1, 2, 3]
    times = [r.latency_ms for r in steps[-1].refinements]
    assert times == sorted(times) and times[0] > 0
    result = runner.process(frame)                               # process() in anytime mode: to the last exit
    assert result.exit_id == config.exits[-1] and len(result.refinements) == 3
