"""The shared search steps (core.search.session): what `mess search` and the GUI's Search page both run."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from core.cli.main import main
from core.data import CLASS_SETS
from core.errors import ConfigError, DataError
from core.jobs import CancelToken, Cancelled, run_job
from core.models import HeadConfig, convert_backbone, save_model
from core.models.io import load_model
from core.profile.costs import measure_costs
from core.runtime.config import ExitConfig
from core.runtime.config_file import ConfigFile, ConfigOrigin
from core.search.calibration import LABELS
from core.search.calibration_store import CALIBRATION_DIR, MAX_SLOTS, CalibrationStore
from core.search.search import SearchSpace, search
from core.search.session import (Budget, calibration_cache, calibration_size, check_latency_table, choose_checked,
                                 config_document, evenly_spaced, open_calibration_set, pareto_document, save_config)
from tests.data.builders import write_horizon_camvid

SIZE = (48, 64)
SPACE = SearchSpace(max_early=2, th_pix=(0.5, 0.9), th_img=(0.5, 0.9))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("session")
    data = write_horizon_camvid(root / "data", 6, size=SIZE)
    torch.manual_seed(0)
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                           points=["features.3", "features.10"], input_size=SIZE)
    save_model(net, root / "model")
    net, info = load_model(root / "model")
    return root, data, net, info


def test_evenly_spaced_keeps_first_and_last_and_all_without_a_limit(setup):
    _, data, net, _ = setup
    full = open_calibration_set(data, "val", net)
    assert len(full) == 6
    quick = open_calibration_set(data, "val", net, limit=3)
    names = [s.image.name for s in quick.samples]
    assert names == ["000.png", "002.png", "005.png"] or names == ["000.png", "003.png", "005.png"]
    assert len(open_calibration_set(data, "val", net, limit=0)) == 6
    assert len(evenly_spaced(open_calibration_set(data, "val", net), 100)) == 6
    with pytest.raises(ConfigError, match="at least 1"):
        evenly_spaced(open_calibration_set(data, "val", net), -2)


def test_a_bad_folder_or_other_classes_is_a_data_error(setup, tmp_path):
    _, data, net, _ = setup
    with pytest.raises(DataError, match="missing"):
        open_calibration_set(tmp_path / "nothing", "val", net)
    voc = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("voc"), [], points=[])
    with pytest.raises(DataError, match="21"):
        open_calibration_set(data, "val", voc)


def calibrate_in(model_dir, net, info, dataset, warnings: list[str]) -> tuple[object, int]:
    """(the cache, how many images were calibrated: 0 when a slot was reused)."""
    events = []
    cache = run_job(calibration_cache(net, info, dataset, torch.device("cpu"), model_dir, warn=warnings.append),
                    events.append)
    return cache, len(events)


def test_each_calibration_set_keeps_its_own_slot_and_is_reused(setup, tmp_path):
    root, data, net, info = setup
    model_dir = tmp_path / "model"
    store = CalibrationStore.of_model(model_dir)
    warnings: list[str] = []
    camvid, video = open_calibration_set(data, "val", net, limit=4), open_calibration_set(data, "val", net, limit=2)
    first, calibrated = calibrate_in(model_dir, net, info, camvid, warnings)
    assert first.images == 4 and calibrated == 4 and len(store.slots()) == 1
    second, calibrated = calibrate_in(model_dir, net, info, video, warnings)
    assert second.images == 2 and calibrated == 2 and len(store.slots()) == 2, "both sets cached"
    again, calibrated = calibrate_in(model_dir, net, info, camvid, warnings)
    assert calibrated == 0 and again.image_paths == first.image_paths and warnings == [], "the first one reused"
    assert store.slots()[0] == store.slot(first.image_paths, first.reference), "reuse makes it the most recent"
    assert all(p.parent == model_dir / CALIBRATION_DIR for p in store.slots())


def test_the_least_recently_used_slots_go_beyond_the_bound(setup, tmp_path):
    root, data, net, info = setup
    model_dir = tmp_path / "model"
    store = CalibrationStore.of_model(model_dir)
    warnings: list[str] = []
    sets = {n: open_calibration_set(data, "val", net, limit=n) for n in (1, 2, 3, 4, 5, 6)}
    for n in (1, 2, 3, 4):
        calibrate_in(model_dir, net, info, sets[n], warnings)
    assert calibrate_in(model_dir, net, info, sets[1], warnings)[1] == 0     # 1 is now the most recent
    for n in (5, 6):
        calibrate_in(model_dir, net, info, sets[n], warnings)
    kept = store.slots()
    assert len(kept) == MAX_SLOTS == 4 and warnings == []
    paths = {n: store.slot([str(s.image) for s in sets[n].samples], LABELS) for n in sets}
    assert set(kept) == {paths[6], paths[5], paths[1], paths[4]}, "2 and 3, the least recently used, are gone"
    assert calibrate_in(model_dir, net, info, sets[1], warnings)[1] == 0


def test_a_corrupt_or_stale_slot_is_rebuilt_with_one_warning(setup, tmp_path):
    root, data, net, info = setup
    model_dir = tmp_path / "model"
    store = CalibrationStore.of_model(model_dir)
    dataset = open_calibration_set(data, "val", net, limit=3)
    warnings: list[str] = []
    cache, _ = calibrate_in(model_dir, net, info, dataset, warnings)
    slot = store.slot(cache.image_paths, cache.reference)
    slot.write_bytes(b"not an npz file")
    rebuilt, calibrated = calibrate_in(model_dir, net, info, dataset, warnings)
    assert calibrated == 3 and len(warnings) == 1 and "not a readable calibration cache" in warnings[0]
    assert str(slot) in warnings[0] and "rebuilding" in warnings[0]
    assert calibrate_in(model_dir, net, info, dataset, warnings)[1] == 0 and len(warnings) == 1, "rebuilt for good"
    retrained = replace(info, weights_sha256="f" * 64)
    stale, calibrated = calibrate_in(model_dir, net, retrained, dataset, warnings)
    assert calibrated == 3 and "stale" in warnings[1] and stale.weights_sha256 == "f" * 64
    assert store.slots() == [slot], "rebuilt in place"


def test_a_slot_from_another_cache_version_is_rebuilt_with_one_warning(setup, tmp_path, monkeypatch):
    """A cache written by an earlier mess (its policy computed the confidences another way) is not reused."""
    from core.search import calibration

    root, data, net, info = setup
    model_dir = tmp_path / "model"
    dataset = open_calibration_set(data, "val", net, limit=2)
    warnings: list[str] = []
    monkeypatch.setattr(calibration, "CACHE_VERSION", calibration.CACHE_VERSION - 1)
    calibrate_in(model_dir, net, info, dataset, warnings)
    monkeypatch.undo()
    rebuilt, calibrated = calibrate_in(model_dir, net, info, dataset, warnings)
    assert calibrated == 2 and len(warnings) == 1 and "rebuilding" in warnings[0]
    assert f"version {calibration.CACHE_VERSION - 1} is not {calibration.CACHE_VERSION}" in warnings[0]
    assert calibrate_in(model_dir, net, info, dataset, warnings)[1] == 0 and len(warnings) == 1


def test_calibration_can_be_cancelled(setup, tmp_path):
    _, data, net, info = setup
    token = CancelToken()
    job = calibration_cache(net, info, open_calibration_set(data, "val", net), torch.device("cpu"), tmp_path,
                            cancel=token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(job)
    assert CalibrationStore.of_model(tmp_path).slots() == []


def test_budgets_choose_and_the_document_is_what_the_cli_writes(setup, tmp_path):
    root, data, net, info = setup
    dataset = open_calibration_set(data, "val", net)
    cache = run_job(calibration_cache(net, info, dataset, torch.device("cpu"), tmp_path))
    table = measure_costs(net, calibration_size(dataset), latency=True, warmup=0, repeats=1)
    result = search(net, cache, table, SPACE)
    full = result.summary(result.full_index)
    assert Budget("drop", 0.0).choose(result) == result.cheapest_within_drop(0.0, "latency")
    assert (Budget("gflops", full["mean_gflops"]).choose(result)
            == result.most_accurate_within(full["mean_gflops"], "gflops"))
    assert Budget("latency", 1e9).axis == "latency" and Budget("drop", 1, "gflops").axis == "gflops"
    with pytest.raises(ConfigError, match="no configuration fits"):
        Budget("latency", 1e-9).choose(result)
    with pytest.raises(ConfigError):
        Budget("speed", 1.0)
    chosen, report, note = choose_checked(net, cache, table, SPACE, result, Budget("drop", 100.0, "gflops"))
    assert (report is None) == (note is not None)
    origin = ConfigOrigin(str(root / "model"), info.weights_sha256)
    document = config_document(result, chosen, table, cache.images, held_out=report, origin=origin)
    assert set(document["predicted"]) >= {"miou", "mean_latency_ms", "mean_gflops"}
    save_config(tmp_path / "gui.json", result, chosen, table, cache.images, held_out=report, origin=origin)
    assert ExitConfig.load(tmp_path / "gui.json") == result.config(chosen)
    assert ConfigFile.load(tmp_path / "gui.json").origin == origin
    assert json.loads((tmp_path / "gui.json").read_text()) == json.loads(json.dumps(document))
    front = pareto_document(result, "gflops", cache.images)
    assert front["configs_evaluated"] == result.count and len(front["front"]) == len(result.pareto_front("gflops"))
    # The command line writes the same document for the same inputs.
    table_path = tmp_path / "table.json"
    table.save(table_path)
    out = tmp_path / "cli.json"
    model_dir = root / "model"
    assert main(["search", "--model", str(model_dir), "--data", str(data), "--latency-table", str(table_path),
                 "--max-drop", "100", "--cost", "gflops", "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    cli = json.loads(out.read_text())
    assert set(cli) == set(document)
    assert cli["images"] == 6 and cli["latency_table"] == table.device_description
    assert cli["format_version"] == 2 and cli["model"] == str(model_dir)
    assert cli["weights_sha256"] == info.weights_sha256


def test_cli_limit_calibrates_on_fewer_images(setup, tmp_path, capsys):
    root, data, net, _ = setup
    table_path = tmp_path / "table.json"
    measure_costs(net, SIZE, latency=True, warmup=0, repeats=1).save(table_path)
    out = tmp_path / "c.json"
    assert main(["search", "--model", str(root / "model"), "--data", str(data), "--latency-table", str(table_path),
                 "--limit", "2", "--max-drop", "100", "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    assert json.loads(out.read_text())["images"] == 2
    assert "on 2 images" in capsys.readouterr().out


def test_latency_table_of_another_model_or_size_is_refused(setup):
    _, _, net, _ = setup
    other = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                             points=["features.6"])
    with pytest.raises(ConfigError, match="measured on another model"):
        check_latency_table(measure_costs(other, SIZE, latency=False), net)
    table = measure_costs(net, SIZE, latency=False)
    check_latency_table(table, net, SIZE)
    with pytest.raises(ConfigError, match="measured at 64x48, the calibration images are 96x72"):
        check_latency_table(table, net, (72, 96), "t.json")


def test_search_job_with_a_table_resizes_to_its_size_and_reports_progress(setup, tmp_path):
    from core.search.session import SearchRequest, search_job

    _, data, net, info = setup
    table = measure_costs(net, (32, 48), latency=True, warmup=0, repeats=1)
    events = []
    outcome = run_job(search_job(net, info, tmp_path, SearchRequest(data, "val", limit=3, table=table)), events.append)
    assert outcome.input_size == (32, 48) and outcome.images == 3 and outcome.table is table
    assert outcome.result.count > 10
    assert [e.stage for e in events] == ["calibrate"] * 3 + ["search"] * 2     # all images, then each fold


def test_search_job_says_why_an_imported_table_may_not_be_this_machines(setup, tmp_path):
    """The Search page shows the outcome's warnings: an imported table measured under load, or by an older
    mess, is named there as the CLI names it."""
    from core.search.session import SearchRequest, search_job

    _, data, net, info = setup
    table = measure_costs(net, (32, 48), latency=True, warmup=0, repeats=1)
    table.format_version = 2
    table.extra["load"] = {"others_cpu_fraction": 0.6}
    request = SearchRequest(data, "val", limit=3, table=table, table_source="old.json")
    warnings = run_job(search_job(net, info, tmp_path, request)).warnings
    assert "old.json: measured while other processes used 60 % of the CPU" in warnings
    assert any(w.startswith("old.json: measured by an older mess (latency-table version 2)") for w in warnings)


def test_search_job_warns_when_it_calibrates_on_frames_the_model_trained_on(setup, tmp_path):
    """The Search page shows the outcome's warnings: calibrating on training frames is one."""
    from dataclasses import replace

    from core.search.session import SearchRequest, search_job

    _, data, net, info = setup
    table = measure_costs(net, (32, 48), latency=True, warmup=0, repeats=1)
    trained = replace(info, provenance={"config": {"data": str(data), "train_split": "train+val"}})
    request = SearchRequest(data, "val", limit=3, table=table)
    warnings = run_job(search_job(net, trained, tmp_path, request)).warnings
    assert any(w.startswith(f"by its provenance, the model trained on split 'val' of a dataset folder named "
                            f"{data.name}:") for w in warnings)
    held_out = replace(info, provenance={"config": {"data": str(data), "train_split": "train"}})
    assert not any("by its provenance" in w for w in run_job(search_job(net, held_out, tmp_path, request)).warnings)


def test_search_job_measures_this_machine_once_and_can_be_cancelled_while_measuring(setup, tmp_path, monkeypatch):
    from core.profile import cache as cache_module
    from core.search.session import SearchRequest, search_job

    _, data, net, info = setup
    monkeypatch.setattr(cache_module, "COST_CACHE", cache_module.CostCache())
    token = CancelToken()
    job = search_job(net, info, tmp_path, SearchRequest(data, "val", limit=2), token)
    stages = []
    for event in job:
        stages.append(event.stage)
        if event.stage == "latency":
            token.cancel()
            break
    with pytest.raises(Cancelled):
        next(job)
    outcome = run_job(search_job(net, info, tmp_path, SearchRequest(data, "val", limit=2)))
    assert outcome.input_size == SIZE and outcome.table.segments[0].latency_ms is not None
    again = run_job(search_job(net, info, tmp_path, SearchRequest(data, "val", limit=2)))
    assert again.table is outcome.table, "measured once per process"


def test_search_job_refuses_a_table_of_another_model(setup, tmp_path):
    from core.search.session import SearchRequest, search_job

    _, data, net, info = setup
    other = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                             points=["features.6"])
    request = SearchRequest(data, table=measure_costs(other, SIZE, latency=False), table_source="other.json")
    with pytest.raises(ConfigError, match="other.json: measured on another model"):
        run_job(search_job(net, info, tmp_path, request))


def test_a_calibration_cache_that_cannot_be_saved_is_a_warning(setup, monkeypatch, tmp_path):
    from core.fileio import WriteError
    from core.search.calibration import CalibrationCache

    root, data, net, info = setup

    def full_disk(self, path):
        raise WriteError(f"{path}: cannot write (No space left on device); the previous file, if any, is unchanged")

    monkeypatch.setattr(CalibrationCache, "save", full_disk)
    dataset = open_calibration_set(data, "val", net, limit=2)
    warnings: list[str] = []
    cache = run_job(calibration_cache(net, info, dataset, torch.device("cpu"), tmp_path, warn=warnings.append))
    assert cache.images == len(dataset)
    assert len(warnings) == 1 and "No space left on device" in warnings[0] and "rebuilt next time" in warnings[0]
