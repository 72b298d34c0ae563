"""Numbers as frightened people type them: "около 40", "6 часов", "2 млн", "40-50", "bir necha".

A pure module (no request, no database, no translations): `read_quantity` turns what was typed
into a `Reading` — how the answer was meant (about, more than, a range, several...), in which
unit, and the one number the coded answer stores. The number is chosen so that it falls in the
band the statistics use (`taxonomy.group_size_band`, `taxonomy.duration_band`): "more than 20"
is stored as 21, "less than 3 hours" as 2, a range as its middle, "several" as 3.

Words are recognised in all five reporter languages at once, whatever the page's language: a
reporter writes as they speak, and the words of different languages do not collide here. Only
ASCII digits are numbers (see `incident_service.numbers`).
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass


class Quantity(enum.StrEnum):
    """What a form field counts, in its stored unit."""

    PEOPLE = "people"
    HOURS = "hours"
    ROUBLES = "roubles"


class Qualifier(enum.StrEnum):
    EXACT = "exact"
    ABOUT = "about"
    MORE = "more"
    AT_LEAST = "at_least"
    LESS = "less"
    AT_MOST = "at_most"
    RANGE = "range"
    SEVERAL = "several"


class Unit(enum.StrEnum):
    PERSON = "person"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ROUBLE = "rouble"


# Hours in each unit of time: a month counts as 30 days, as the duration bands do.
HOURS_IN: dict[Unit, float] = {
    Unit.MINUTE: 1 / 60,
    Unit.HOUR: 1,
    Unit.DAY: 24,
    Unit.WEEK: 24 * 7,
    Unit.MONTH: 24 * 30,
}
BASE_UNIT: dict[Quantity, Unit] = {
    Quantity.PEOPLE: Unit.PERSON,
    Quantity.HOURS: Unit.HOUR,
    Quantity.ROUBLES: Unit.ROUBLE,
}
# "Several" is stored as three: within "2 to 5 people", "3 to 12 hours" and "2 to 7 days".
SEVERAL = 3
# Longer input is not an answer to "how many"; it is refused before any work is done.
MAX_INPUT = 60
_MAX_DIGITS = 12


@dataclass(frozen=True)
class Reading:
    """How an answer was understood. `low` and `high` are in `unit` as typed (equal unless
    `qualifier` is RANGE; multipliers such as "млн" already applied); `value` is what is
    stored, in the quantity's own unit (people, hours, roubles)."""

    qualifier: Qualifier
    low: float
    high: float
    unit: Unit
    value: float


# -------------------------------------------------------------------------------------------
# The lexicon: word (or phrase, as a tuple of tokens) → what it means. Tokens are lower case,
# "ё" read as "е", Uzbek apostrophes (ʻ ’ ` ') as "'".


class _Kind(enum.Enum):
    QUALIFIER = "qualifier"
    SEPARATOR = "separator"  # between the two numbers of a range
    FROM = "from"  # "от 5 до 10"; alone before a number: "from 20" = at least 20
    TO = "to"  # "от 5 до 10"; alone with a number: "до 10" = up to 10
    SEVERAL = "several"
    UNIT = "unit"
    MULTIPLIER = "multiplier"
    FILLER = "filler"  # words that add nothing: "человек", "people", "ta", "рублей"


_Meaning = tuple[_Kind, object]

# fmt: off
# (Word lists are kept several to a line, by language, rather than one word per line.)

_QUALIFIERS: dict[Qualifier, tuple[str, ...]] = {
    Qualifier.ABOUT: (
        # ru
        "около", "примерно", "приблизительно", "приблиз", "где-то", "где то", "порядка",
        "почти", "почти что", "чуть меньше", "наверное", "~", "≈",
        # en
        "about", "around", "approximately", "approx", "roughly", "circa", "ca", "nearly",
        "almost", "some", "maybe", "perhaps",
        # tg
        "тақрибан", "тахминан", "қариб", "наздики",
        # uz
        "taxminan", "tahminan", "qariyb", "deyarli", "chamasi", "atrofida", "ga yaqin",
        "ka yaqin", "qa yaqin", "tacha",
        # ky
        "болжол менен", "болжолу", "болжолдуу", "жакын", "га жакын", "ка жакын", "ге жакын",
        "ке жакын", "го жакын", "ко жакын", "гө жакын", "кө жакын", "тай", "дай", "чамасы",
    ),
    Qualifier.MORE: (
        "больше", "больше чем", "более", "свыше", "с лишним", "с чем-то", "с чем то", ">",
        "more than", "over", "above", "upwards of", "beyond",
        "зиёда аз", "зиёдтар аз", "беш аз", "бештар аз", "аз зиёд", "зиёда",
        "dan ortiq", "dan ko'p", "dan oshiq", "dan ziyod", "tadan ortiq", "tadan ko'p", "ortiq",
        "дан ашык", "ден ашык", "тан ашык", "тен ашык", "дон ашык", "дөн ашык", "тон ашык",
        "төн ашык", "дан көп", "ден көп", "тан көп", "тен көп", "дон көп", "дөн көп",
        "тон көп", "төн көп", "ашык", "ашуун",
    ),
    Qualifier.AT_LEAST: (
        "не меньше", "не меньше чем", "не менее", "минимум", "как минимум", "по меньшей мере",
        "и больше", "и более", "или больше", "или более", "+",
        "at least", "minimum", "min", "or more", "and more", "plus",
        "ақаллан", "ҳадди ақал", "камаш", "ва зиёда", "ва бештар", "ё бештар",
        "kamida", "eng kamida", "kam deganda", "va undan ko'p", "yoki undan ko'p",
        "кеминде", "эң аз", "жана андан көп", "же андан көп", "андан көп",
    ),
    Qualifier.LESS: (
        "меньше", "меньше чем", "менее", "<",
        "less than", "fewer than", "under", "below",
        "камтар аз", "кам аз", "камтар",
        "dan kam", "dan oz", "tadan kam",
        "дан аз", "ден аз", "тан аз", "тен аз", "дон аз", "дөн аз", "тон аз", "төн аз",
        "дан кем", "ден кем", "тан кем", "тен кем", "дон кем", "дөн кем", "тон кем", "төн кем",
    ),
    Qualifier.AT_MOST: (
        "не больше", "не более", "максимум", "не больше чем",
        "up to", "at most", "no more than", "maximum", "max",
        "на зиёда аз", "на бештар аз", "ҳадди аксар",
        "ko'pi bilan", "ko'pida", "eng ko'pi",
        "эң көп", "көп дегенде",
    ),
}

_LEXICON_COMMON: dict[str, _Meaning] = {
    **{word: (_Kind.SEPARATOR, None) for word in ("-", "...", "…", "или", "or", "ё", "yoki",
                                                  "же")},
    **{word: (_Kind.FROM, None) for word in ("от", "from", "аз", "dan", "tadan", "дан", "ден",
                                             "тан", "тен", "дон", "дөн", "тон", "төн")},
    **{
        word: (_Kind.TO, None)
        for word in ("до", "to", "то", "gacha", "tagacha", "чейин", "га чейин", "ге чейин",
                     "ка чейин", "ке чейин", "го чейин", "гө чейин", "ко чейин", "кө чейин")
    },
    **{
        word: (_Kind.SEVERAL, None)
        for word in ("несколько", "several", "a few", "few", "якчанд", "чанд", "bir necha",
                     "bir nechta", "bir qancha", "necha", "бир нече", "бир канча", "бирнече")
    },
    **{word: (_Kind.FILLER, None) for word in (".", ",", "ta", "та", "nafar", "нафар", "чем")},
}

_LEXICON_PEOPLE: dict[str, _Meaning] = {
    word: (_Kind.FILLER, None)
    for word in (
        "человек", "человека", "чел", "людей", "люди", "мигрантов", "мигранта", "мужчин",
        "people", "persons", "person", "men", "migrants", "of us", "us",
        "одам", "кас", "муҳоҷир", "муҳоҷирон",
        "kishi", "odam", "kishidan", "odamdan", "migrant", "muhojir",
        "киши", "адам", "кишиден", "адамдан", "мигрант",
    )
}


# fmt: on


def _units(unit: Unit, *words: str) -> dict[str, _Meaning]:
    return {word: (_Kind.UNIT, unit) for word in words}


# fmt: off
_LEXICON_HOURS: dict[str, _Meaning] = {
    **_units(
        Unit.MINUTE,
        "мин", "минута", "минуты", "минут", "минуту", "minute", "minutes", "mins",
        "дақиқа", "daqiqa", "мүнөт",
    ),
    **_units(
        Unit.HOUR,
        "ч", "час", "часа", "часов", "часик", "h", "hr", "hrs", "hour", "hours",
        "соат", "soat", "саат",
    ),
    **_units(
        Unit.DAY,
        "сут", "сутки", "суток", "суткам", "день", "дня", "дней", "д", "d", "day", "days",
        "рӯз", "шабонарӯз", "kun", "sutka", "kecha-kunduz", "күн", "сутка", "түн",
    ),
    **_units(
        Unit.WEEK,
        "неделя", "недели", "недель", "неделю", "нед", "w", "wk", "week", "weeks",
        "ҳафта", "hafta", "апта",
    ),
    **_units(
        Unit.MONTH,
        "месяц", "месяца", "месяцев", "мес", "month", "months", "моҳ", "oy", "ай",
    ),
}

_LEXICON_ROUBLES: dict[str, _Meaning] = {
    **{
        word: (_Kind.MULTIPLIER, 1_000)
        for word in ("тыс", "тысяч", "тысячи", "тысяча", "тысячу", "т", "к", "k", "thousand",
                     "ҳазор", "ming", "миң")
    },
    **{
        word: (_Kind.MULTIPLIER, 1_000_000)
        for word in ("млн", "миллион", "миллиона", "миллионов", "лям", "m", "mln", "million",
                     "millions", "mio")
    },
    **{
        word: (_Kind.FILLER, None)
        for word in ("руб", "рублей", "рубля", "рубль", "р", "₽", "rub", "rubles", "roubles",
                     "ruble", "rouble", "рубл", "rubl", "so'm")
    },
}


# fmt: on


def _lexicon(specific: dict[str, _Meaning]) -> dict[tuple[str, ...], _Meaning]:
    entries: dict[str, _Meaning] = {**_LEXICON_COMMON, **specific}
    for qualifier, words in _QUALIFIERS.items():
        entries.update({word: (_Kind.QUALIFIER, qualifier) for word in words})
    return {tuple(_tokens(phrase)): meaning for phrase, meaning in entries.items()}


_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+(?:['-][^\W\d_]+)*|\.\.\.|[-+~≈<>…₽.,]|\S")
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‒": "-", "ё": "е", "Ё": "е"})
_APOSTROPHES = re.compile(r"[ʻʼ’‘`´]")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_THOUSANDS_GROUP = re.compile(r"\d{3}")


def _tokens(text: str) -> list[str]:
    normal = _APOSTROPHES.sub("'", text.translate(_DASHES).casefold())
    return _TOKEN.findall(_SPACES.sub(" ", normal))


_LEXICONS: dict[Quantity, dict[tuple[str, ...], _Meaning]] = {}
_LONGEST: dict[Quantity, int] = {}


def _lexicon_for(quantity: Quantity) -> dict[tuple[str, ...], _Meaning]:
    if quantity not in _LEXICONS:
        specific = {
            Quantity.PEOPLE: _LEXICON_PEOPLE,
            Quantity.HOURS: _LEXICON_HOURS,
            Quantity.ROUBLES: _LEXICON_ROUBLES,
        }[quantity]
        _LEXICONS[quantity] = _lexicon(specific)
        _LONGEST[quantity] = max(len(phrase) for phrase in _LEXICONS[quantity])
    return _LEXICONS[quantity]


# -------------------------------------------------------------------------------------------
# Reading


@dataclass
class _Parts:
    numbers: list[float]
    qualifiers: list[Qualifier]
    separated: bool = False  # a separator (or "to") stood between two numbers
    has_from: bool = False
    has_to: bool = False
    several: bool = False
    unit: Unit | None = None
    multiplier: float = 1


def read_quantity(text: str, quantity: Quantity) -> Reading | None:
    """How `text` answers "how many" for `quantity`, or None if it does not."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    parts = _parse(_merge_thousands(_tokens(text)), quantity)
    if parts is None:
        return None
    return _reading(parts, quantity)


def _merge_thousands(tokens: list[str]) -> list[str]:
    """ "40 000" and "1 500 000" are one number each (a space groups thousands)."""
    merged: list[str] = []
    grouping = False  # the last token is digits that may take another group of three
    for token in tokens:
        digits = token.isascii() and token.isdigit()
        if digits and grouping and len(token) == 3:
            merged[-1] += token
            continue
        merged.append(token)
        grouping = digits and len(token) <= 3
    return merged


def _parse(tokens: list[str], quantity: Quantity) -> _Parts | None:
    lexicon = _lexicon_for(quantity)
    longest = _LONGEST[quantity]
    parts = _Parts(numbers=[], qualifiers=[])
    between = False  # a separator was seen since the first number
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if _NUMBER.fullmatch(token) and token.isascii():
            if len(token) > _MAX_DIGITS:
                return None
            if parts.numbers and between:
                parts.separated = True
            parts.numbers.append(float(token.replace(",", ".")))
            index += 1
            continue
        for size in range(min(longest, len(tokens) - index), 0, -1):
            meaning = lexicon.get(tuple(tokens[index : index + size]))
            if meaning is not None:
                break
        else:
            return None
        kind, payload = meaning
        if kind is _Kind.QUALIFIER:
            parts.qualifiers.append(Qualifier(str(payload)))
        elif kind is _Kind.SEPARATOR and not parts.numbers:
            return None
        elif kind in (_Kind.SEPARATOR, _Kind.TO):
            between = between or bool(parts.numbers)
            parts.has_to = parts.has_to or kind is _Kind.TO
        elif kind is _Kind.FROM:
            parts.has_from = True
        elif kind is _Kind.SEVERAL:
            parts.several = True
        elif kind is _Kind.UNIT:
            if parts.unit is not None and parts.unit is not payload:
                return None
            parts.unit = Unit(str(payload))
        elif kind is _Kind.MULTIPLIER:
            assert isinstance(payload, int)
            parts.multiplier = payload
        index += size
    return parts


def _reading(parts: _Parts, quantity: Quantity) -> Reading | None:
    unit = parts.unit or BASE_UNIT[quantity]
    factor = HOURS_IN.get(unit, 1) * parts.multiplier
    qualifiers = set(parts.qualifiers)
    count = len(parts.numbers)
    if count == 0:
        if parts.several and not qualifiers:
            return _made(Qualifier.SEVERAL, SEVERAL, SEVERAL, unit, SEVERAL * factor, quantity)
        if parts.unit is not None and not parts.several:  # "сутки", "a week", "больше месяца"
            return _single(_one_qualifier(qualifiers, parts), 1, unit, factor, quantity)
        return None
    if parts.several:
        return None
    if count == 1:
        return _single(_one_qualifier(qualifiers, parts), parts.numbers[0], unit, factor, quantity)
    # "5-10", "от 5 до 10", and "5 dan 10 gacha" / "5тен 10го чейин" (the "to" after both).
    separated = parts.separated or (parts.has_from and parts.has_to)
    if count == 2 and separated and qualifiers <= {Qualifier.ABOUT}:
        low, high = sorted(number * parts.multiplier for number in parts.numbers)
        middle = (low + high) / 2 * HOURS_IN.get(unit, 1)
        if quantity is not Quantity.HOURS:
            middle = float(math.floor(middle))
        return _made(Qualifier.RANGE, low, high, unit, middle, quantity)
    return None


def _one_qualifier(qualifiers: set[Qualifier], parts: _Parts) -> Qualifier | None:
    """The one way a single number was meant; None if two words contradict each other."""
    if parts.has_from and not qualifiers:
        qualifiers = {Qualifier.AT_LEAST}
    if parts.has_to and not qualifiers:
        qualifiers = {Qualifier.AT_MOST}
    if len(qualifiers) > 1:
        return None
    return next(iter(qualifiers), Qualifier.EXACT)


def _single(
    qualifier: Qualifier | None, number: float, unit: Unit, factor: float, quantity: Quantity
) -> Reading | None:
    if qualifier is None:
        return None
    amount = number * factor
    # One person, one hour or one rouble past the number, so that the band is the right one:
    # "more than 30 people" is 31, in "more than 30"; "less than 3 hours" is 2, under 3 hours.
    if qualifier is Qualifier.MORE:
        value = amount + 1
    elif qualifier is Qualifier.LESS:
        value = max(amount - 1, amount / 2) if quantity is Quantity.HOURS else amount - 1
    else:
        value = amount
    typed = number * (factor / HOURS_IN.get(unit, 1))
    return _made(qualifier, typed, typed, unit, value, quantity)


def _made(
    qualifier: Qualifier, low: float, high: float, unit: Unit, value: float, quantity: Quantity
) -> Reading | None:
    low, high, value = float(low), float(high), float(value)
    if not all(math.isfinite(number) for number in (low, high, value)):
        return None
    return Reading(qualifier=qualifier, low=low, high=high, unit=unit, value=value)


def is_plain_number(text: str) -> bool:
    """True for "40", "1,5" or "40 000": nothing to say about how it was understood."""
    return all(_NUMBER.fullmatch(token) for token in _merge_thousands(_tokens(text))) and bool(
        text.strip()
    )
