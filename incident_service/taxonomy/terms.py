"""The building blocks of every vocabulary: a term, a vocabulary, and how to write them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import get_locale


@dataclass(frozen=True)
class Term:
    """One code of a vocabulary, with its parent in the generalisation hierarchy."""

    code: str
    msgid: object = None  # a lazy gettext string for concepts
    names: tuple[tuple[str, str], ...] = ()  # (language, name) pairs for proper nouns
    parent: str | None = None

    @property
    def label(self) -> str:
        if self.names:
            names = dict(self.names)
            language = _current_language()
            return names.get(language) or names.get("ru") or self.code
        return str(self.msgid) if self.msgid is not None else self.code


def _current_language() -> str:
    try:
        locale = get_locale()
    except RuntimeError:  # outside a request or app context
        return "en"
    return locale.language if locale is not None else "en"


@dataclass(frozen=True)
class Vocabulary:
    name: str
    terms: tuple[Term, ...]
    _index: dict[str, Term] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {term.code: term for term in self.terms})
        if len(self._index) != len(self.terms):
            raise ValueError(f"duplicate code in vocabulary {self.name}")

    def __contains__(self, code: object) -> bool:
        return code in self._index

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def codes(self) -> list[str]:
        return [term.code for term in self.terms]

    def get(self, code: str) -> Term:
        return self._index[code]

    def label(self, code: str) -> str:
        term = self._index.get(code)
        return term.label if term is not None else code

    def parent(self, code: str) -> str | None:
        return self._index[code].parent

    def children(self, parent: str) -> list[Term]:
        return [term for term in self.terms if term.parent == parent]


def vocabulary(name: str, *terms: Term) -> Vocabulary:
    return Vocabulary(name, tuple(terms))


def concept(code: str, label: object, parent: str | None = None) -> Term:
    """A term whose label is a message id (a lazy gettext string), translated per request."""
    return Term(code=code, msgid=label, parent=parent)


def place(code: str, ru: str, en: str, parent: str | None = None) -> Term:
    """A proper noun: its Russian and English names, not translated through the catalogues."""
    return Term(code=code, names=(("ru", ru), ("en", en)), parent=parent)
