from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping

from streams.detect.writeback import WriteBack


class CountingDict(dict, MutableMapping):
    def __init__(self) -> None:
        super().__init__()
        self.writes: Counter[str] = Counter()

    def __setitem__(self, key, value) -> None:
        self.writes[key] += 1
        super().__setitem__(key, value)


def test_many_updates_of_a_key_write_it_once() -> None:
    table = CountingDict()
    table["kept"] = 1
    view = WriteBack(table)
    for count in range(100):
        view["hot"] = count
    view["kept"] = view["kept"] + 1
    assert table.get("hot") is None and view["hot"] == 99
    assert view.flush() == 2
    assert table == {"hot": 99, "kept": 2} and table.writes["hot"] == 1


def test_deletes_and_iteration_see_pending_changes() -> None:
    table = CountingDict()
    table.update(a=1, b=2)
    view = WriteBack(table)
    del view["a"]
    view["c"] = 3
    assert "a" not in view and set(view) == {"b", "c"} and len(view) == 2
    view.flush()
    assert table == {"b": 2, "c": 3}
