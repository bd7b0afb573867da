"""Held-out-checked search: folds, the robust rule, and held-out figures equal to simulating the fold."""

from __future__ import annotations

import json
import numpy as np
import pytest

from core.errors import ConfigError
from core.search.holdout import choose_robust, held_out_check, make_folds, subset
from core.search.search import SearchSpace, search, simulate
from core.search.session import Budget, choose_checked

SPACE = SearchSpace(max_early=2, th_pix=(0.3, 0.5, 0.7, 0.9), th_img=(0.2, 0.5, 0.8, 0.95))


def test_folds_follow_sequences_else_blocks_of_time():
    by_drive = make_folds([f"/d/{s}_{i:03d}.png" for s in ("0006R0", "0001TP") for i in range(3)])
    assert by_drive.by == "sequence" and by_drive.names == ["0001TP", "0006R0"]
    assert [m.tolist() for m in by_drive.members] == [[3, 4, 5], [0, 1, 2]]
    video = make_folds([f"/v/clip.mp4#{i}" for i in range(10)], blocks=3)
    assert video.by == "time blocks" and [len(m) for m in video.members] == [3, 4, 3]
    assert np.array_equal(video.others(1), [0, 1, 2, 7, 8, 9])
    lonely = make_folds(["/d/A_1.png", "/d/B_1.png", "/d/B_2.png", "/d/B_3.png", "/d/B_4.png", "/d/B_5.png"])
    assert lonely.by == "time blocks"                  # a sequence of one frame is no fold
    with pytest.raises(ConfigError, match="at least 6 calibration images"):
        make_folds([f"{i}.png" for i in range(5)])


def test_every_fold_is_searched_exactly_as_its_images_alone(setup):
    net, cache, costs, _ = setup
    folds = make_folds(cache.image_paths, blocks=3)
    rng = np.random.default_rng(0)
    for members in folds.members:
        alone = subset(cache, members)
        result = search(net, alone, costs, SPACE)
        for index in rng.choice(result.count, size=25, replace=False):
            taken, miou = simulate(alone, result.config(int(index)))
            assert result.miou[index] == pytest.approx(miou, abs=1e-9)


def test_the_robust_rule_fits_the_budget_on_every_fold_and_is_best_so(setup):
    net, cache, costs, _ = setup
    folds = make_folds(cache.image_paths, blocks=3)
    per_fold = [search(net, subset(cache, m), costs, SPACE) for m in folds.members]
    latency = np.array([r.mean_latency_ms for r in per_fold])
    budget = float(np.median(latency.max(axis=0)))
    chosen = choose_robust(per_fold, "latency", budget)
    assert latency[:, chosen].max() <= budget
    worst = np.array([r.miou for r in per_fold]).min(axis=0)
    assert worst[chosen] == worst[latency.max(axis=0) <= budget].max()
    drop = choose_robust(per_fold, "drop", 2.0)
    assert all(r.miou[r.full_index] - r.miou[drop] <= 2.0 + 1e-9 for r in per_fold)
    with pytest.raises(ConfigError, match="on every fold"):
        choose_robust(per_fold, "latency", 1e-6)


def test_the_check_measures_each_choice_on_the_fold_it_did_not_see(setup):
    net, cache, costs, result = setup
    budget = Budget("drop", 1.0)
    chosen, report = held_out_check(net, cache, costs, SPACE, result, kind="drop", value=1.0)
    assert report.rule == "robust" and chosen == choose_robust(report.per_fold, "drop", 1.0)
    assert set(report.checks) == {"robust", "plain"}
    for k, members in enumerate(report.folds.members):
        others = search(net, subset(cache, report.folds.others(k)), costs, SPACE)
        record = report.checks["plain"][k]
        index = budget.choose(others)
        assert record["index"] == index
        assert record["predicted"]["miou"] == pytest.approx(others.miou[index])
        _, held_miou = simulate(subset(cache, members), others.config(index))
        assert record["held_out"]["miou"] == pytest.approx(held_miou, abs=1e-9)
        assert record["held_out_drop_pp"] == pytest.approx(record["held_out_full"]["miou"] - held_miou)
    document = json.loads(json.dumps(report.to_json()))       # what --out carries: plain JSON
    assert document["folds_by"] == "time blocks" and len(document["checks"]["plain"]) == 3
    assert document["summary"]["plain"]["folds"] == 3


def test_too_few_images_choose_on_all_of_them_with_a_note(setup):
    net, cache, costs, result = setup
    small = subset(cache, np.arange(4))
    few = search(net, small, costs, SPACE)
    chosen, report, note = choose_checked(net, small, costs, SPACE, few, Budget("drop", 1.0))
    assert report is None and "at least 6 calibration images" in note
    assert chosen == Budget("drop", 1.0).choose(few)
    _, none, silent = choose_checked(net, cache, costs, SPACE, result, Budget("drop", 1.0), check=False)
    assert none is None and silent is None


def test_an_unknown_rule_is_refused(setup):
    net, cache, costs, result = setup
    with pytest.raises(ConfigError, match="unknown selection rule 'best'"):
        held_out_check(net, cache, costs, SPACE, result, kind="drop", value=1.0, rule="best")
