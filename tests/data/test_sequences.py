"""Sequences read off file names, and the held-out selection of a dataset's frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data import open_dataset
from core.data.sample import Sample
from core.data.sequences import parse_sequences, select_sequences, sequence_counts, sequence_of
from core.errors import DataError
from tests.data.builders import write_camvid


def write_sequences(root: Path, split: str, frames: dict[str, int]) -> Path:
    """A CamVid split with ``frames[sequence]`` frames of each sequence."""
    for s, (sequence, n) in enumerate(frames.items()):
        write_camvid(root, split, n, sequence=sequence, seed=100 * s)
    return root


def test_sequence_is_the_file_name_before_its_first_underscore():
    assert sequence_of("/data/camvid/val/0016E5_07959.png") == "0016E5"
    assert sequence_of("aachen_000000_000019_leftImg8bit.png") == "aachen"
    assert sequence_of("frame.png") == "" and sequence_of("_0001.png") == ""


def test_sequence_names_are_parsed_and_checked():
    assert parse_sequences("0001TP, 0006R0,0001TP") == ("0001TP", "0006R0")
    assert parse_sequences("") == () and parse_sequences(None) == ()
    for bad in ("0001TP,,0006R0", "0001TP_000", "a/b"):
        with pytest.raises(DataError, match="sequence names separated by commas"):
            parse_sequences(bad)


def test_select_keeps_and_drops_whole_sequences():
    samples = [Sample(Path(f"{seq}_{i}.png"), None) for seq in ("A", "B", "C") for i in range(3)]
    assert sequence_counts(samples) == {"A": 3, "B": 3, "C": 3}
    assert {sequence_of(s.image) for s in select_sequences(samples, include=("B",))} == {"B"}
    assert {sequence_of(s.image) for s in select_sequences(samples, exclude=("B",))} == {"A", "C"}
    with pytest.raises(DataError, match=r"no frame of sequence 'D' \(sequences: A 3, B 3, C 3\)"):
        select_sequences(samples, exclude=("D",))
    with pytest.raises(DataError, match="no frame left"):
        select_sequences(samples, include=("A",), exclude=("A",))


def test_splits_join_with_plus_and_filter_by_sequence(tmp_path):
    root = write_sequences(tmp_path / "cv", "train", {"AAA": 3, "BBB": 2})
    write_sequences(root, "val", {"BBB": 0, "CCC": 2})
    both = open_dataset(root, "train+val")
    assert len(both) == 7 and sequence_counts(both.samples) == {"AAA": 3, "BBB": 2, "CCC": 2}
    assert len(open_dataset(root, "train+train")) == 5              # each frame once
    held = open_dataset(root, "train+val", sequences=("BBB", "CCC"))
    assert sequence_counts(held.samples) == {"BBB": 2, "CCC": 2}
    rest = open_dataset(root, "train+val", exclude_sequences=("AAA",))
    assert [s.image for s in rest.samples] == [s.image for s in held.samples]
    with pytest.raises(DataError, match="split 'train\\+': name the splits"):
        open_dataset(root, "train+")
    with pytest.raises(DataError, match="has no frame of sequence 'ZZZ'"):
        open_dataset(root, "val", sequences=("ZZZ",))
