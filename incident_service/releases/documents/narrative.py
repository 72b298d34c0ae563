"""The words of a release: headings and sentences written from the figures by fixed templates.

Nothing a reporter wrote ever reaches a summary: every sentence here is a template (from
`wording`) filled with published figures and taxonomy labels. `Narrator` formats numbers,
periods and labels in one language and fills the templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import force_locale

from incident_service import taxonomy
from incident_service.releases.documents.wording import TEXT
from incident_service.releases.periods import PeriodKind, ReleasePeriod

LANGUAGE_NAMES = {"ru": "Русский", "en": "English", "tg": "Тоҷикӣ"}

MONTHS = {
    "en": [
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ],
    "ru": [
        "январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
        "октябрь", "ноябрь", "декабрь",
    ],
    # Prepositional case, for "в ноябре 2024 года".
    "ru_in": [
        "январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре",
        "октябре", "ноябре", "декабре",
    ],
    "tg": [
        "январ", "феврал", "март", "апрел", "май", "июн", "июл", "август", "сентябр",
        "октябр", "ноябр", "декабр",
    ],
}  # fmt: skip
ROMAN = ["I", "II", "III", "IV"]


def _ru_plural(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


class Narrator:
    """Formats numbers, periods, labels and sentences in one language."""

    def __init__(self, language: str, *, threshold: int | None = None) -> None:
        if language not in TEXT:
            raise ValueError(f"no release templates for {language!r}")
        self.language = language
        self.threshold = threshold

    def text(self, key: str, **values: Any) -> str:
        template = TEXT[self.language].get(key) or TEXT["en"][key]
        return template.format(**values)

    def number(self, value: float | int) -> str:
        whole = f"{round(value):,}" if float(value).is_integer() else f"{value:,.1f}"
        if self.language == "en":
            return whole
        # Russian and Tajik group thousands with a narrow no-break space and use a decimal comma.
        return whole.replace(",", "\u202f").replace(".", ",")

    def decimal(self, value: float) -> str:
        """One decimal place always (shares line up in a column): "33.0", "33,0"."""
        text = f"{value:.1f}"
        return text if self.language == "en" else text.replace(".", ",")

    def fewer_reports(self, stated: tuple[int, int]) -> str:
        """ "fewer than 10 reports", "менее 10 сообщений", "камтар аз 10 хабар"."""
        return self.text("reports_fewer", n=self.number(stated[1] + 1))

    def counted(self, kind: str, n: int) -> str:
        """ "12 reports", "12 сообщений", "12 хабар"."""
        form = _ru_plural(n) if self.language == "ru" else "one" if n == 1 else "many"
        return self.text(f"{kind}_{form}", n=self.number(n))

    def value(
        self,
        value: int | None,
        margin: float | None = None,
        stated: tuple[int, int] | None = None,
    ) -> str:
        """A figure as printed: the number, "about n (± m)", "fewer than 10" for a figure
        published as a range (`stated`: lower, upper), or "x" for a hidden one."""
        if value is None and stated is not None:
            return self.text("range_value", n=self.number(stated[1] + 1))
        if value is None:
            return self.text("not_shown")
        if margin is not None:
            return self.text("about", n=self.number(value), margin=self.number(round(margin)))
        return self.number(value)

    # Periods ---------------------------------------------------------------------------------

    def period_title(self, period: ReleasePeriod) -> str:
        kind, year, number = period.kind, period.year, period.number
        if kind is PeriodKind.MONTH:
            name = MONTHS[self.language][number - 1]
            return f"{name.capitalize()} {year}"
        if kind is PeriodKind.QUARTER:
            return {
                "en": f"Q{number} {year}",
                "ru": f"{ROMAN[number - 1]} квартал {year} года",
                "tg": f"Семоҳаи {ROMAN[number - 1]}-и соли {year}",
            }[self.language]
        return {"en": f"{year}", "ru": f"{year} год", "tg": f"Соли {year}"}[self.language]

    def period_in(self, period: ReleasePeriod) -> str:
        """ "in November 2024", "в ноябре 2024 года", "дар моҳи ноябри соли 2024"."""
        kind, year, number = period.kind, period.year, period.number
        if self.language == "en":
            if kind is PeriodKind.MONTH:
                return f"in {MONTHS['en'][number - 1]} {year}"
            if kind is PeriodKind.QUARTER:
                ordinal = ["first", "second", "third", "fourth"][number - 1]
                return f"in the {ordinal} quarter of {year}"
            return f"in {year}"
        if self.language == "ru":
            if kind is PeriodKind.MONTH:
                return f"в {MONTHS['ru_in'][number - 1]} {year} года"
            if kind is PeriodKind.QUARTER:
                return f"в {ROMAN[number - 1]} квартале {year} года"
            return f"в {year} году"
        if kind is PeriodKind.MONTH:
            return f"дар моҳи {MONTHS['tg'][number - 1]}и соли {year}"
        if kind is PeriodKind.QUARTER:
            return f"дар семоҳаи {ROMAN[number - 1]}-и соли {year}"
        return f"дар соли {year}"

    # Labels ----------------------------------------------------------------------------------

    def label(self, vocabulary: str | None, code: str | None) -> str:
        """A taxonomy label in this language (the reporter's catalogues translate concepts;
        place names carry their own Russian and English forms)."""
        if vocabulary is None or code is None:
            return self.text("not_stated")
        with force_locale(self.language):
            return taxonomy.VOCABULARIES[vocabulary].label(code)

    def month_label(self, month: str) -> str:
        year, number = month.split("-")
        return f"{MONTHS[self.language][int(number) - 1].capitalize()} {year}"


def stated_range(row: Mapping[str, Any]) -> tuple[int, int] | None:
    """The range a hidden row is published as ("fewer than 10"), or None."""
    found = row.get("range")
    if row.get("value") is not None or not found:
        return None
    return int(found["lower"]), int(found["upper"])


def row_label(narrator: Narrator, table: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    key = row["key"]
    if table["id"] == "by_month":
        return narrator.month_label(key) if "-" in key else narrator.text("year_only")
    if table["dimension"] == "flag":
        return narrator.text(f"flag_{key}")
    if key == "*":
        return narrator.text("all_airports")
    if key in ("?", "group:?"):
        return narrator.text("other_codes")
    if row["vocabulary"] is None and key not in ("-",) and not key.endswith(":-"):
        return narrator.text("other_codes") + f" ({key})"
    return narrator.label(row["vocabulary"], row["code"])
