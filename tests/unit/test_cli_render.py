"""The one table renderer every command uses (streams/cli/output.py).

Issue 7 item 10: a table shows log data, not terminal commands hidden in it. Issue 8 item 5: a table
stays readable at 80 columns: long values fold, no column shrinks to nothing, and columns that cannot
fit are left out by priority and named.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from streams.cli.demo import render_report
from streams.cli.output import MIN_COLUMN_WIDTH, Listing, render, render_rows
from streams.demo.runner import DemoReport, SummaryTable

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


def test_the_demo_summary_escapes_log_data_too() -> None:
    report = DemoReport({"messages": 1, "events_landed": 1, "duplicates_skipped": 0, "dead_letters": 0},
                        [SummaryTable("Alerts", ["principal"], [[value] for value in HOSTILE])])
    text = render_report(report, "table", width=80)
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text
    assert "\\x1b[2J" in text


# --- 80 columns ------------------------------------------------------------------------------------

def column_widths(table: str) -> list[int]:
    """Widths of the columns of a rendered table, read from its top border."""
    top = table.splitlines()[0]
    return [len(part) - 2 for part in top.strip("┏┓").split("┳")]


def test_long_values_fold_within_80_columns_and_nothing_is_lost() -> None:
    long_url = "https://bedrock-runtime.eu-west-1.amazonaws.com/model/" + "anthropic.claude-v2:1/" * 8 + "invoke"
    table = render_rows(["principal", "target_url", "n"],
                        [("arn:aws:iam::123456789012:role/" + "VeryLongRoleName" * 4, long_url, 7)], "table",
                        width=80)
    lines = table.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    column = [line.split("│")[2].strip() for line in lines if line.startswith("│")]
    assert "".join(column) == long_url, "a folded value must read back whole"
    assert "7" in table


def test_no_column_shrinks_below_its_least_width() -> None:
    for count in range(1, 9):
        columns = [f"column_{i}" for i in range(count)]
        table = render_rows(columns, [["x" * 200] * count], "table", width=80)
        assert max(cell_len(line) for line in table.splitlines()) <= 80
        assert min(column_widths(table)) >= MIN_COLUMN_WIDTH, count


def test_short_columns_stay_whole_beside_a_long_one() -> None:
    table = render_rows(["severity", "count", "title"], [("critical", 12345, "t" * 300)], "table", width=80)
    assert "critical" in table and "12345" in table
    assert max(cell_len(line) for line in table.splitlines()) <= 80


def test_columns_that_cannot_fit_are_left_out_by_priority_and_named() -> None:
    columns = [f"c{i:02d}_name" for i in range(12)]
    listing = Listing(columns, [["v" * 30] * 12], priority=["c11_name"])
    table = render(listing, "table", width=80)
    assert max(cell_len(line) for line in table.splitlines()) <= 80
    header = next(line for line in table.splitlines() if line.startswith("┃"))
    shown = [name for name in columns if name in header]
    assert "c11_name" in shown and shown[:-1] == columns[:len(shown) - 1], shown
    assert min(column_widths(table)) >= MIN_COLUMN_WIDTH
    caption = " ".join(table.split())
    assert "not shown at 80 columns:" in caption
    for name in columns:
        assert name in shown or name in caption


def test_whole_columns_are_not_folded() -> None:
    ident = "s3_ai_data_bucket_public_access_block_removed"
    listing = Listing(["id", "title", "tags"], [(ident, "a title " * 12, "T1530 " * 10)], whole=["id"])
    table = render(listing, "table", width=80)
    assert ident in table
    assert max(cell_len(line) for line in table.splitlines()) <= 80


def test_a_wide_terminal_shows_values_unfolded() -> None:
    value = "x" * 150
    assert value in render_rows(["v"], [(value,)], "table", width=200)


def test_an_empty_result_says_so() -> None:
    # chDB names no columns when a query returns no rows.
    assert render_rows([], [], "table") == "(no rows)\n"
    assert render_rows([], [], "csv") == "" and render_rows([], [], "json") == "[]"
    assert render_rows(["n"], [], "csv") == "n\n"
