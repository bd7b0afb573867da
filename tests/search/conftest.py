"""Fixtures of the search tests: a calibrated tiny model (tests/search/calibrated.py builds it)."""

from __future__ import annotations

import pytest

from tests.search.calibrated import calibrated, calibration_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Eight CamVid-style images: sky, road, a car; different layouts and noise per image."""
    return calibration_dataset(tmp_path_factory.mktemp("calib"))


@pytest.fixture(scope="module")
def setup(dataset):
    """(net, cache, costs, result): the model calibrated on ``dataset``, its latency table and search."""
    return calibrated(dataset)
