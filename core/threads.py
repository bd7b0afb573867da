"""Thread counts and the OpenMP wait policy, decided in one place."""

from __future__ import annotations

import os


def set_wait_policy() -> None:
    """OpenMP threads sleep when idle (unless the user set OMP_WAIT_POLICY): call before torch is imported.

    With the default (spinning) policy, torch's idle OpenMP threads keep both cores busy for
    a while after each operation, starving the graph runtimes, the video decoder and the UI
    that run next; measured on 2 cores, OpenVINO's full network ran 54.7 ms a frame in
    ``mess run`` beside torch's spinning threads, 41.1 ms with passive ones.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def backend_threads(requested: int | None = None) -> int:
    """Threads a backend's compute may use: ``requested``, else torch's intra-op setting for this process."""
    if requested:
        return int(requested)
    import torch

    return max(1, torch.get_num_threads())


def configure_threads(threads: int | None) -> None:
    """Set torch's intra-op threads for this process (and OpenCV's pool beside it) when ``threads`` is given."""
    if not threads:
        return
    import cv2
    import torch

    torch.set_num_threads(int(threads))
    cv2.setNumThreads(1 if threads <= 2 else int(threads))


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def set_torch_threads(threads: int) -> None:
    """Torch's intra-op threads for the calling thread's own parallel work (OpenMP keeps this per thread,
    so a training job and the live view on two threads of one process each set their own)."""
    import torch

    torch.set_num_threads(max(1, int(threads)))


LOAD_SAMPLE_S = 0.2     # how long a command looks at the other processes' load before choosing its threads


def free_cores(sample_s: float = LOAD_SAMPLE_S) -> tuple[int, float]:
    """(the cores other processes leave free, the cores they kept busy) over ``sample_s`` seconds.

    A command that runs on every core beside a busy process waits on its slowest thread at every
    step; on the cores left free it runs at their full speed. At least one core is free."""
    import time

    from core.profile.load import LoadProbe

    probe = LoadProbe()
    time.sleep(sample_s)
    load = probe.stop()
    cores = available_cores()
    busy = float(load.get("others_cpu_fraction", 0.0)) * float(load.get("cpu_count", cores))
    return max(1, min(cores, int(cores - busy + 0.5))), busy


PRIORITY_JOB = "live"   # with other jobs running, the live view keeps the larger half: its latency is seen


class CoreShare:
    """Splits the process's cores between the jobs running at once (thread-safe, no Qt).

    ``limit`` is the user's setting (None: every core this process may use). One job alone gets the
    whole limit; with others, the live view gets the larger half and the other jobs share the rest,
    each at least one thread. ``version`` changes whenever a job's share may have changed, so a loop
    can look at it once per frame and rebuild what depends on it.
    """

    def __init__(self, limit: int | None = None) -> None:
        import threading

        self._lock = threading.Lock()
        self._limit = self._checked(limit)
        self._jobs: dict[str, int] = {}          # job -> how many claims of it are open
        self._version = 0

    @staticmethod
    def _checked(limit: int | None) -> int | None:
        if limit is None or limit == 0:
            return None
        if int(limit) < 1:
            raise ValueError(f"threads must be at least 1 (or 0 for every core), got {limit}")
        return int(limit)

    @property
    def limit(self) -> int | None:
        with self._lock:
            return self._limit

    def total(self) -> int:
        with self._lock:
            return self._limit or available_cores()

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def set_limit(self, limit: int | None) -> None:
        """The user's thread setting: N threads in all, or None/0 for every core."""
        limit = self._checked(limit)
        with self._lock:
            if limit != self._limit:
                self._limit = limit
                self._version += 1

    def jobs(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._jobs))

    def threads_for(self, job: str) -> int:
        """The threads ``job`` should use now, counting it as running."""
        with self._lock:
            return split_cores(self._limit or available_cores(), set(self._jobs) | {job})[job]

    def claim(self, job: str) -> "CoreClaim":
        """Count ``job`` as running until the claim is released (a context manager)."""
        with self._lock:
            self._jobs[job] = self._jobs.get(job, 0) + 1
            self._version += 1
        return CoreClaim(self, job)

    def _release(self, job: str) -> None:
        with self._lock:
            left = self._jobs.get(job, 0) - 1
            if left > 0:
                self._jobs[job] = left
            else:
                self._jobs.pop(job, None)
            self._version += 1


class CoreClaim:
    """An open claim of a job on the cores: ``threads`` now; released by ``release()`` or ``with``."""

    def __init__(self, share: CoreShare, job: str) -> None:
        self.share, self.job = share, job
        self._open = True

    @property
    def threads(self) -> int:
        return self.share.threads_for(self.job)

    def release(self) -> None:
        if self._open:
            self._open = False
            self.share._release(self.job)

    def __enter__(self) -> "CoreClaim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def split_cores(total: int, jobs: set[str]) -> dict[str, int]:
    """Threads for each of ``jobs`` running at once on ``total`` cores (see CoreShare)."""
    total = max(1, int(total))
    if len(jobs) <= 1:
        return {job: total for job in jobs}
    others = sorted(jobs - {PRIORITY_JOB})
    shares: dict[str, int] = {}
    rest = total
    if PRIORITY_JOB in jobs:
        shares[PRIORITY_JOB] = max(1, total - total // 2)
        rest = total - shares[PRIORITY_JOB]
    each, extra = divmod(max(rest, 0), len(others))
    for i, job in enumerate(others):
        shares[job] = max(1, each + (1 if i < extra else 0))
    return shares


CORES = CoreShare()   # the process's cores: the app's jobs and the live view claim their share here


def sharing_cores(job: str, make, share: CoreShare | None = None):
    """Job (a generator): run the job that ``make(threads)`` returns with ``job``'s share of the cores.

    Torch's threads of the running thread follow the share: set at the start and again after any
    event at which the share changed (another job started or ended, or the user's setting moved).
    The claim is released when the job ends, fails or is closed."""
    share = share or CORES
    with share.claim(job) as claim:
        threads = claim.threads
        set_torch_threads(threads)
        version = share.version
        inner = make(threads)
        try:
            while True:
                try:
                    event = next(inner)
                except StopIteration as stop:
                    return stop.value
                if share.version != version:
                    version = share.version
                    if claim.threads != threads:
                        threads = claim.threads
                        set_torch_threads(threads)
                yield event
        finally:
            inner.close()
