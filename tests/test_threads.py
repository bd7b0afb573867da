"""Thread counts decided in one place: the split of the cores between jobs running at once."""

from __future__ import annotations

import threading

import pytest
import torch

from core.jobs import Progress, run_job
from core.threads import CoreShare, available_cores, sharing_cores, split_cores


def test_one_job_gets_every_core_and_two_split_them_with_the_live_view_keeping_the_larger_half():
    assert split_cores(2, {"train"}) == {"train": 2}
    assert split_cores(2, {"train", "live"}) == {"train": 1, "live": 1}
    assert split_cores(5, {"train", "live"}) == {"train": 2, "live": 3}
    assert split_cores(1, {"train", "live"}) == {"train": 1, "live": 1}          # at least one each
    assert split_cores(6, {"train", "search", "live"}) == {"live": 3, "search": 2, "train": 1}
    assert split_cores(4, {"train", "search"}) == {"search": 2, "train": 2}


def test_a_share_counts_claims_and_changes_its_version_when_a_share_may_change():
    share = CoreShare(limit=4)
    assert share.threads_for("live") == 4
    version = share.version
    with share.claim("train") as train:
        assert share.version != version
        assert train.threads == 4
        live = share.claim("live")
        assert (train.threads, live.threads) == (2, 2)
        live.release()
        live.release()                              # twice is harmless
        assert train.threads == 4
    assert share.jobs() == ()
    share.set_limit(None)
    assert share.total() == available_cores()
    with pytest.raises(ValueError, match="at least 1"):
        share.set_limit(-2)


def _counting_job(threads_seen: list[int], share: CoreShare, steps: int = 3):
    def make(threads: int):
        for step in range(steps):
            threads_seen.append(torch.get_num_threads())
            if step == 0:
                share.claim("live")                 # the live view starts beside the job (not released here)
            yield Progress("step", step + 1, steps)
        return "done"
    return make


def test_a_job_sharing_the_cores_sets_its_thread_s_torch_threads_and_follows_a_new_share():
    share = CoreShare(limit=2)
    seen: list[int] = []
    result: list = []
    thread = threading.Thread(target=lambda: result.append(run_job(sharing_cores("train", _counting_job(seen, share),
                                                                                  share=share))))
    thread.start()
    thread.join(30)
    assert result == ["done"]
    assert seen == [2, 1, 1]                         # alone: both cores; beside the live view: one
    assert share.jobs() == ("live",)                 # the job's claim was released at its end


def test_a_job_that_fails_or_is_closed_releases_its_claim():
    share = CoreShare(limit=2)

    def failing(threads):
        yield Progress("step", 0, 1)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_job(sharing_cores("train", failing, share=share))
    assert share.jobs() == ()
    job = sharing_cores("train", _counting_job([], CoreShare(), steps=5), share=share)
    next(job)
    assert share.jobs() == ("train",)
    job.close()
    assert share.jobs() == ()


@pytest.mark.parametrize("others, cores, expected", [(0.0, 2, 2), (0.5, 2, 1), (1.0, 2, 1), (0.2, 4, 3),
                                                     (0.05, 2, 2)])
def test_free_cores_are_the_cores_other_processes_leave(monkeypatch, others, cores, expected):
    import core.profile.load
    import core.threads

    class Probe:
        def stop(self):
            return {"others_cpu_fraction": others, "cpu_count": cores, "source": "test"}

    monkeypatch.setattr(core.profile.load, "LoadProbe", Probe)
    monkeypatch.setattr(core.threads, "available_cores", lambda: cores)
    free, busy = core.threads.free_cores(sample_s=0.0)
    assert free == expected and busy == pytest.approx(others * cores)
