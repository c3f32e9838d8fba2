"""YAML loading that remembers where every value came from, so config errors can name file and line.

PyYAML's composer keeps a start mark on every node; walking the node tree once gives a map from a
value's path (``("clauses", 0, "who", "networks", 1)``) to its line. Pydantic reports error locations as
such paths, so an error maps back to the line that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

Path = tuple[str | int, ...]

# Hand-written config nests a few levels; these bounds keep hostile files from exhausting the stack
# (PyYAML composes recursively) or the machine (aliases can expand to billions of values).
MAX_DEPTH = 64
MAX_VALUES = 100_000


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a config file."""

    origin: str
    line: int
    """1-based line, 0 when unknown."""
    field: str
    """Dotted path of the offending value, e.g. ``clauses.0.who.networks.1``; '' for the whole file."""
    message: str

    def __str__(self) -> str:
        where = f"{self.origin}:{self.line}" if self.line else self.origin
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigFileError(ValueError):
    """A config file that cannot be used; ``problems`` lists every problem found, each with its line."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True, slots=True)
class LineIndex:
    """Line of each value (and of each mapping key) in one YAML document."""

    lines: dict[Path, int]

    def line_of(self, path: Sequence[str | int]) -> int:
        """Line of ``path``, or of its nearest ancestor that exists (a missing field reports its parent)."""
        probe = tuple(path)
        while probe:
            line = self.lines.get(probe)
            if line is not None:
                return line
            probe = probe[:-1]
        return self.lines.get((), 0)


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses deep nesting and reports a value it cannot construct at its line.

    PyYAML's own constructors raise plain ``ValueError`` and friends for values such as
    ``2025-13-45`` or ``!!int 'one'``, without a line; here they become errors with the value's mark.
    """

    def __init__(self, stream: str) -> None:
        self._depth = 0
        super().__init__(stream)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nests deeper than {MAX_DEPTH} levels",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as error:  # noqa: BLE001 -- whatever a constructor raises is the file's fault
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value: {error}"[:300], node.start_mark) from None


def load_yaml(text: str, origin: str) -> tuple[Any, LineIndex]:
    """Parse one YAML document safely; raise ``ConfigFileError`` on syntax errors or duplicate keys."""
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # the reader already refuses some characters here
        node = loader.get_single_node()
        if node is None:
            return None, LineIndex({})
        lines: dict[Path, int] = {}
        problems: list[ConfigProblem] = []
        _index(node, (), lines, problems, origin, _Budget())
        if problems:
            raise ConfigFileError(problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = ConfigProblem(origin, line, "", f"invalid YAML: {error.problem or error}")
        raise ConfigFileError([problem]) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise ConfigFileError([ConfigProblem(origin, line, "", f"invalid YAML: {error}")]) from None
    except yaml.YAMLError as error:
        raise ConfigFileError([ConfigProblem(origin, 0, "", f"invalid YAML: {error}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, LineIndex(lines)


class _Budget:
    """Values left to visit: aliases are visited each time they are used, as the data will hold them."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values = MAX_VALUES


def _index(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[ConfigProblem],
           origin: str, budget: _Budget) -> None:
    line = node.start_mark.line + 1
    budget.values -= 1
    if budget.values < 0:
        raise ConfigFileError([ConfigProblem(origin, line, ".".join(map(str, path)),
                                             f"more than {MAX_VALUES} values once aliases are expanded")])
    if len(path) > MAX_DEPTH:  # only an alias that contains itself gets here: composing stopped the rest
        raise ConfigFileError([ConfigProblem(origin, line, "", f"nests deeper than {MAX_DEPTH} levels "
                                                               "(an alias used inside itself)")])
    lines[path] = line
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML silently keeps the last duplicate; in a policy that hides a clause.
                problems.append(ConfigProblem(origin, line, ".".join(map(str, (*path, key))),
                                              f"duplicate key (first at line {seen[key]})"))
            seen[key] = line
            _index(value_node, (*path, key), lines, problems, origin, budget)
            lines[(*path, key)] = line  # errors about a key read best at the key, not at its value
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*path, position), lines, problems, origin, budget)


def problems_from_validation(error: ValidationError, index: LineIndex, origin: str) -> list[ConfigProblem]:
    """Pydantic errors as problems with the line each error location points at."""
    problems = []
    for item in error.errors(include_url=False):
        location = tuple(part for part in item["loc"] if not _is_union_tag(part))
        problems.append(ConfigProblem(
            origin=origin,
            line=index.line_of(location),
            field=".".join(str(part) for part in location),
            message=item["msg"].removeprefix("Value error, "),
        ))
    return problems


def _is_union_tag(part: str | int) -> bool:
    # Pydantic inserts the tried type's name into locations of union members (e.g. "function-after[...]").
    return isinstance(part, str) and "[" in part
