"""Sequences of a dataset: which drive (or city, or video) a frame comes from, read off its file name.

CamVid names a frame ``<sequence>_<frame>`` (``0016E5_07959.png``), Cityscapes ``<city>_<seq>_<frame>``:
the part of the file name before its first underscore is the sequence. Frames of one sequence are
near-duplicates of each other, so an honest validation holds whole sequences out of training
(``select_sequences``); a frame whose name has no underscore belongs to no sequence (``""``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from core.data.sample import Sample
from core.errors import DataError

NO_SEQUENCE = ""


def sequence_of(path: str | Path) -> str:
    """The sequence a frame belongs to: its file name up to the first underscore ("" when none)."""
    stem = Path(path).stem
    head, sep, _ = stem.partition("_")
    return head if sep and head else NO_SEQUENCE


def parse_sequences(text: str | Sequence[str] | None, what: str = "sequences") -> tuple[str, ...]:
    """``"0001TP,0006R0"`` (or a list of names) -> ("0001TP", "0006R0"); None or "" -> ()."""
    if not text:
        return ()
    names = text.split(",") if isinstance(text, str) else list(text)
    cleaned = tuple(n.strip() for n in names)
    if any(not n or "_" in n or "/" in n for n in cleaned):
        raise DataError(f"{what} {','.join(names)!r}: give sequence names separated by commas "
                        "(the part of a file name before its first underscore, e.g. 0016E5)")
    return tuple(dict.fromkeys(cleaned))


def sequence_counts(samples: Iterable[Sample]) -> dict[str, int]:
    """Frames per sequence, in name order."""
    counts = Counter(sequence_of(s.image) for s in samples)
    return dict(sorted(counts.items()))


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{name or '(none)'} {n}" for name, n in counts.items()) or "none"


def select_sequences(samples: Sequence[Sample], include: Sequence[str] = (), exclude: Sequence[str] = (),
                     where: str = "the dataset") -> list[Sample]:
    """The samples of the ``include`` sequences (all when empty) minus those of ``exclude``.

    Naming a sequence ``where`` has no frame of is an error (a typo would otherwise silently keep
    or drop everything), as is a selection that leaves no frame."""
    counts = sequence_counts(samples)
    for name in (*include, *exclude):
        if name not in counts:
            raise DataError(f"{where}: has no frame of sequence '{name}' (sequences: {_describe(counts)})")
    kept = [s for s in samples
            if (not include or sequence_of(s.image) in include) and sequence_of(s.image) not in exclude]
    if not kept:
        raise DataError(f"{where}: no frame left after selecting sequences "
                        f"(kept {','.join(include) or 'all'}, held out {','.join(exclude) or 'none'})")
    return kept
