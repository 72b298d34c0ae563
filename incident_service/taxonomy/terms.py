"""The building blocks of every vocabulary: a term, a vocabulary, and how to write them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import force_locale, get_locale


@dataclass(frozen=True)
class Term:
    """One code of a vocabulary, with its parent in the generalisation hierarchy."""

    code: str
    msgid: object = None  # a lazy gettext string for concepts
    names: tuple[tuple[str, str], ...] = ()  # (language, name) pairs for proper nouns
    parent: str | None = None
    # A concept's label per language, once translated: the catalogues do not change while the
    # process runs, and a queue page asks for hundreds of labels.
    _translated: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The label in the language of the page being shown."""
        return self.label_in(_current_language())

    def label_in(self, language: str) -> str:
        """The label in `language`: a place's own name in that language or script if it has
        one (English, Uzbek Latin), else its Russian name; a concept's translated message."""
        if self.names:
            names = dict(self.names)
            return names.get(language) or names.get("ru") or self.code
        if self.msgid is None:
            return self.code
        known = self._translated.get(language)
        if known is None:
            if language == _current_language():
                known = str(self.msgid)
            else:
                with force_locale(language):
                    known = str(self.msgid)
            self._translated[language] = known
        return known


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

    def label(self, code: str, language: str | None = None) -> str:
        """`code`'s label in `language` (the page's language if not given)."""
        term = self._index.get(code)
        if term is None:
            return code
        return term.label if language is None else term.label_in(language)

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


def with_names(places: Vocabulary, language: str, names: dict[str, str]) -> Vocabulary:
    """`places` with each term also named in `language` (every code must have its name)."""
    missing = set(places.codes()) ^ set(names)
    if missing:
        raise ValueError(f"{places.name}: names in {language} do not match the codes: {missing}")
    return Vocabulary(
        places.name,
        tuple(
            Term(
                code=term.code,
                names=(*term.names, (language, names[term.code])),
                parent=term.parent,
            )
            for term in places.terms
        ),
    )
