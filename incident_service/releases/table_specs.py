"""What a release table is made of: its rows, the table itself, and the disclosure-control
component whose cells the rows are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incident_service import taxonomy
from incident_service.releases.counts import Code
from incident_service.releases.disclosure import Component

NOT_STATED = "-"
ANY = "*"


@dataclass(frozen=True)
class RowSpec:
    """A row of a table: its key, what names it, and its codes for the long CSV."""

    key: str
    vocabulary: str | None
    code: str | None
    level: int = 0
    dims: tuple[tuple[str, str | None], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "vocabulary": self.vocabulary,
            "code": self.code,
            "level": self.level,
            "dims": dict(self.dims),
        }


@dataclass
class TableSpec:
    id: str
    dimension: str  # what the rows are (month, act, region, ...): names the CSV column
    unit: str = "reports"
    multi: bool = False  # a report can be in several rows
    rows: list[RowSpec] = field(default_factory=list)
    total_key: str | None = None  # a row that is the table's own total, if any

    def cell(self, row: RowSpec) -> str:
        return f"{self.id}/{row.key}"


@dataclass
class BuiltComponent:
    component: Component
    tables: list[TableSpec]
    # Cells published outside any table (persons affected): key → published value or None.
    extra: list[str] = field(default_factory=list)


def _vocabulary_codes(name: str) -> list[str]:
    return taxonomy.VOCABULARIES[name].codes()


def single_leaves(observed: Mapping[Code, int], vocabulary: str) -> dict[str, int]:
    """Every code of the vocabulary (zeros too: a reader knows the list) and "not stated",
    which also takes values outside the vocabulary (the anonymiser's "UNK" reporter role)."""
    codes = _vocabulary_codes(vocabulary)
    leaves = dict.fromkeys(codes, 0)
    leaves[NOT_STATED] = 0
    for code, count in observed.items():
        key = code if code in leaves and code != NOT_STATED else NOT_STATED
        leaves[key] += count
    return leaves


def row_for(vocabulary: str, key: str, *, level: int = 0, dimension: str) -> RowSpec:
    known = key in taxonomy.VOCABULARIES[vocabulary]
    code = key if known else None
    return RowSpec(
        key=key,
        vocabulary=vocabulary if known else None,
        code=code,
        level=level,
        dims=((dimension, code),),
    )
