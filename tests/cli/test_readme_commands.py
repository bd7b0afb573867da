"""The README's command table names each command's real options, and every option a user types."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from core.cli.main import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"
# Said once under the table, for the commands named there, instead of in each row.
SAID_UNDER_THE_TABLE = {"--quiet": ("eval", "search", "run", "quantize", "export", "train"),
                        "--layout": ("eval", "search", "train")}
# Options not for users: the app's smoke tests use them; train's row defers to `mess train --help`.
NOT_IN_THE_TABLE = {("gui", "--quit-after")}


def table_rows(*, whole: bool = False) -> dict[str, str]:
    """The command cell of each row of the table under '## The command line' (``whole``: the row with
    its description), by command name (the inspect rows joined)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## The command line", 1)[1].split("\n## ", 1)[0]
    lines = section.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| command |"))
    table = []
    for line in lines[start + 2:]:
        if not line.startswith("| `mess "):
            break
        table.append(line)
    rows: dict[str, str] = {}
    for line in table:
        cell = line if whole else line.split("` |", 1)[0]
        name = cell.split()[2]
        rows[name] = rows.get(name, "") + " " + cell
    return rows


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--")}


def test_the_table_is_one_table_with_a_row_for_every_command():
    """A blank line inside a Markdown table ends it: the rows after it render as paragraphs."""
    assert set(table_rows()) == set(subcommands())


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_each_row_names_real_options_and_every_option_of_its_command(name):
    row = table_rows()[name]
    named = set(re.findall(r"--[a-z][a-z0-9-]*", row))
    real = options_of(subcommands()[name])
    assert not named - real, f"mess {name}: the README names options it does not have: {sorted(named - real)}"
    if name == "train":         # its row names the common ones and defers to `mess train --help`
        return
    said = set(re.findall(r"--[a-z][a-z0-9-]*", table_rows(whole=True)[name]))
    under = {option for option, names in SAID_UNDER_THE_TABLE.items() if name in names} | {"--help"}
    missing = real - said - under - {o for n, o in NOT_IN_THE_TABLE if n == name}
    assert not missing, f"mess {name}: options missing from the README's table: {sorted(missing)}"


def test_the_sentence_under_the_table_names_the_options_and_commands_it_covers():
    """The rows leave --quiet and --layout to one sentence: it must be there, naming each command, and each
    command it names must have the option."""
    text = README.read_text(encoding="utf-8")
    after = text.split("## The command line", 1)[1].split("\n\n| `mess gui", 1)[-1].split("\n## ", 1)[0]
    sentence = " ".join(after.split())
    commands = subcommands()
    for option, names in SAID_UNDER_THE_TABLE.items():
        said = re.search(re.escape(f"`{option}` on ") + r"(.*?)(;|\.)", sentence)
        assert said, f"no sentence under the table says which commands take {option}"
        assert set(re.findall(r"`([a-z]+)`", said.group(1))) == set(names), option
        assert all(option in options_of(commands[n]) for n in names), option
