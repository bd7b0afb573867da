"""Small hand-made search results (no model, no calibration): three configurations and their fold searches."""

from __future__ import annotations

import numpy as np

from core.search.holdout import FoldResults, Folds
from core.search.search import SearchResult, SearchSpace
from core.search.session import SearchOutcome

SPACE = SearchSpace(th_pix=(0.5,), th_img=(0.9,))        # one threshold pair: one configuration per exit set


def synthetic_result(miou=(70.0, 68.0, 50.0), latency=(100.0, 60.0, 30.0), gflops=(2.0, 1.2, 0.5)) -> SearchResult:
    """0: the full network; 1: an early exit and the final exit (dynamic); 2: the early exit alone."""
    return SearchResult(np.asarray(miou), np.asarray(latency), np.asarray(latency) * 1.2, np.asarray(gflops),
                        [np.asarray([[1.0]]), np.asarray([[0.6, 0.4]]), np.asarray([[1.0]])],
                        [(("final",), "top1", 0), (("features.3", "final"), "top1", 1), (("features.3",), "top1", 2)],
                        space=SPACE, seconds=0.25, full_index=0)


def synthetic_folds() -> FoldResults:
    """Three sequences whose searches differ a little from each other."""
    per_fold = [synthetic_result(miou=(70.0 + d, 68.0 - d, 50.0), latency=(100.0, 60.0 + 5 * d, 30.0))
                for d in (0.0, 1.0, 2.0)]
    others = [synthetic_result(miou=(70.0, 67.0 + d / 2, 50.0), latency=(100.0, 62.0, 30.0)) for d in (0, 1, 2)]
    folds = Folds("sequence", ["a", "b", "c"], [np.arange(0, 2), np.arange(2, 4), np.arange(4, 6)])
    return FoldResults(folds, per_fold, others)


def synthetic_outcome(*, folds: bool = False, reference: str = "labels", table=None) -> SearchOutcome:
    return SearchOutcome(synthetic_result(), table, 6, (48, 64), [], reference,
                         synthetic_folds() if folds else None)
