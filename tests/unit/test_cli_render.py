"""Issue 7 item 10: `aispm query --format table` shows log data, not terminal commands hidden in it."""

from __future__ import annotations

import pytest

from streams.cli import render_rows

HOSTILE = [
    "\x1b[2J\x1b[31mfake alert cleared\x1b[0m",  # ESC: clear screen, colours
    "\x1b]0;owned\x07",                         # OSC: set the window title
    "\x9b31mC1 CSI",                            # C1 control: CSI without ESC
    "admin\u202e\u2066txt.exe",                 # bidi override and isolate
    "line one\rline two\x08\x08",               # carriage return, backspaces
    "row\nspoof | admin",                       # a newline that would start a fake row
    "\u2028separator\x00nul\x7fdel",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_control_characters_are_shown_escaped(value: str) -> None:
    table = render_rows(["raw"], [(value,)], "table")
    controls = [ch for ch in table if ch not in "\n" and (ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0
                                                         or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")]
    assert controls == [], f"{controls!r} reached the terminal"
    assert table.count("\n") == 5, "a value added lines to the table"


def test_escapes_stay_visible_so_the_analyst_sees_them() -> None:
    table = render_rows(["raw"], [("a\x1b[31mb",)], "table")
    assert "\\x1b[31m" in table


def test_rich_markup_in_data_is_printed_literally() -> None:
    table = render_rows(["[bold]col[/bold]"], [("[red]not red[/red] [link=http://evil]click[/link]",)], "table")
    assert "[red]not red[/red]" in table
    assert "[link=http://evil]click[/link]" in table
    assert "[bold]col[/bold]" in table


def test_column_names_are_escaped_too() -> None:
    table = render_rows(["a\x1b[2Jb"], [(1,)], "table")
    assert "\x1b" not in table and "\\x1b" in table


def test_plain_values_are_unchanged() -> None:
    table = render_rows(["actor", "n"], [("alice@example.com", 3), ("Zoë – ünïcode", None)], "table")
    assert "alice@example.com" in table and "Zoë – ünïcode" in table
