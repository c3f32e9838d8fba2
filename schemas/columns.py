"""How each field of a row model is stored: the column type, declared once beside the field.

Row models (TypedDicts and dataclasses in this package) annotate integer and time fields with the
types below; ``column_types`` reads the annotations back, so the store builds its Arrow/polars frames
from the models instead of restating them.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, Required

import polars as pl
from pydantic import Field

__all__ = ["Column", "ColumnType", "FrameSchema", "Int32", "Int64", "TimeMs", "UInt16", "UInt32", "UInt64", "column_types"]


@dataclass(frozen=True, slots=True)
class Column:
    """A field's stored type, by name: ``UInt16``, ``Int64``, ``TimeMs`` (epoch ms, a DateTime64(3)
    column), ``Utf8``, ``Boolean``, ``Binary``, ``List[Utf8]``."""

    type: str


UInt16 = Annotated[int, Field(ge=0, le=2**16 - 1), Column("UInt16")]
UInt32 = Annotated[int, Field(ge=0, le=2**32 - 1), Column("UInt32")]
UInt64 = Annotated[int, Field(ge=0, le=2**64 - 1), Column("UInt64")]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1), Column("Int32")]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1), Column("Int64")]
TimeMs = Annotated[int, Field(ge=-(2**63), le=2**63 - 1), Column("TimeMs")]
"""Epoch milliseconds, UTC."""


@dataclass(frozen=True, slots=True)
class ColumnType:
    type: str
    nullable: bool


_PLAIN = {str: "Utf8", bool: "Boolean", bytes: "Binary", int: "Int64", float: "Float64"}


def column_types(model: type) -> dict[str, ColumnType]:
    """Field name -> stored type of a TypedDict or dataclass, in declaration order."""
    return {name: _column_type(hint) for name, hint in typing.get_type_hints(model, include_extras=True).items()}


def _column_type(hint: Any) -> ColumnType:
    nullable = False
    while True:
        origin = typing.get_origin(hint)
        if origin in (NotRequired, Required):
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            arms = [arm for arm in typing.get_args(hint) if arm is not type(None)]
            nullable = nullable or len(arms) < len(typing.get_args(hint))
            if len(arms) != 1:
                raise TypeError(f"a column holds one type, not {hint}")
            hint = arms[0]
        elif origin is Annotated:
            marker = next((m for m in hint.__metadata__ if isinstance(m, Column)), None)
            if marker is not None:
                return ColumnType(marker.type, nullable)
            hint = typing.get_args(hint)[0]
        elif origin is typing.Literal:
            return ColumnType(_PLAIN[type(typing.get_args(hint)[0])], nullable)
        elif origin is list:
            return ColumnType(f"List[{_column_type(typing.get_args(hint)[0]).type}]", nullable)
        elif hint in _PLAIN:
            return ColumnType(_PLAIN[hint], nullable)
        else:
            raise TypeError(f"no column type for {hint!r}")


# Arrow/polars types of the column types.
_POLARS_TYPES: dict[str, pl.DataType] = {
    "UInt16": pl.UInt16(), "UInt32": pl.UInt32(), "UInt64": pl.UInt64(), "Int32": pl.Int32(),
    "Int64": pl.Int64(), "TimeMs": pl.Int64(), "Float64": pl.Float64(), "Utf8": pl.Utf8(),
    "Boolean": pl.Boolean(), "Binary": pl.Binary(), "List[Utf8]": pl.List(pl.Utf8()),
}


@dataclass(frozen=True, slots=True)
class FrameSchema:
    """How rows of one model become an Arrow frame for its table."""

    columns: dict[str, pl.DataType]
    kinds: dict[str, str]
    """Each column's type name (``schemas.columns.Column``)."""
    time_columns: tuple[str, ...]
    """Epoch-ms columns, stored as DateTime64(3, 'UTC')."""

    @classmethod
    def of(cls, model: type) -> FrameSchema:
        types = column_types(model)
        return cls({name: _POLARS_TYPES[kind.type] for name, kind in types.items()},
                   {name: kind.type for name, kind in types.items()},
                   tuple(name for name, kind in types.items() if kind.type == "TimeMs"))

    def frame(self, rows: list[dict] | dict[str, list]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=self.columns).with_columns(
            pl.col(name).cast(pl.Datetime("ms", "UTC")) for name in self.time_columns)
