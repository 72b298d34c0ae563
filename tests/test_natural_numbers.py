"""Numbers typed in words: "около 40", "6 часов", "2 млн", "40-50", in all five languages.

The examples are what reporters write; the properties are what must hold for anything typed:
a plain number is itself, a range is counted inside itself and in its band, and nothing typed
makes the reader fail.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_service import taxonomy
from incident_service.intake.natural_numbers import (
    MAX_INPUT,
    Qualifier,
    Quantity,
    Unit,
    is_plain_number,
    read_quantity,
)

P, H, R = Quantity.PEOPLE, Quantity.HOURS, Quantity.ROUBLES
Q = Qualifier

# (typed, what it counts, how it was meant, the number stored)
RUSSIAN = [
    ("около 40", P, Q.ABOUT, 40),
    ("примерно 40 человек", P, Q.ABOUT, 40),
    ("больше 20", P, Q.MORE, 21),
    ("более 30 человек", P, Q.MORE, 31),
    ("20 с лишним", P, Q.MORE, 21),
    ("несколько", P, Q.SEVERAL, 3),
    ("40-50", P, Q.RANGE, 45),
    ("от 5 до 10", P, Q.RANGE, 7),
    ("до 10", P, Q.AT_MOST, 10),
    ("не меньше 20", P, Q.AT_LEAST, 20),
    ("6 часов", H, Q.EXACT, 6),
    ("2 суток", H, Q.EXACT, 48),
    ("сутки", H, Q.EXACT, 24),
    ("1,5 суток", H, Q.EXACT, 36),
    ("несколько часов", H, Q.SEVERAL, 3),
    ("несколько дней", H, Q.SEVERAL, 72),
    ("больше месяца", H, Q.MORE, 721),
    ("меньше 3 часов", H, Q.LESS, 2),
    ("30 минут", H, Q.EXACT, 0.5),
    ("2–3 дня", H, Q.RANGE, 60),
    ("неделю", H, Q.EXACT, 168),
    ("2 млн", R, Q.EXACT, 2_000_000),
    ("около 200 тыс. руб.", R, Q.ABOUT, 200_000),
    ("40-50 тыс", R, Q.RANGE, 45_000),
    ("1,5 миллиона рублей", R, Q.EXACT, 1_500_000),
    ("150 000 ₽", R, Q.EXACT, 150_000),
]
ENGLISH = [
    ("about 40", P, Q.ABOUT, 40),
    ("around 40 people", P, Q.ABOUT, 40),
    ("more than 20", P, Q.MORE, 21),
    ("over 30", P, Q.MORE, 31),
    ("at least 20", P, Q.AT_LEAST, 20),
    ("20+", P, Q.AT_LEAST, 20),
    ("several", P, Q.SEVERAL, 3),
    ("a few", P, Q.SEVERAL, 3),
    ("40 to 50", P, Q.RANGE, 45),
    ("6 hours", H, Q.EXACT, 6),
    ("2 days", H, Q.EXACT, 48),
    ("less than 3 hours", H, Q.LESS, 2),
    ("a few days", H, Q.SEVERAL, 72),
    ("2 million", R, Q.EXACT, 2_000_000),
    ("200k", R, Q.EXACT, 200_000),
]
TAJIK = [
    ("тақрибан 40", P, Q.ABOUT, 40),
    ("зиёда аз 20 нафар", P, Q.MORE, 21),
    ("якчанд", P, Q.SEVERAL, 3),
    ("аз 5 то 10", P, Q.RANGE, 7),
    ("6 соат", H, Q.EXACT, 6),
    ("2 рӯз", H, Q.EXACT, 48),
    ("якчанд рӯз", H, Q.SEVERAL, 72),
    ("2 миллион", R, Q.EXACT, 2_000_000),
    ("150 ҳазор", R, Q.EXACT, 150_000),
]
UZBEK = [
    ("taxminan 40", P, Q.ABOUT, 40),
    ("40 ga yaqin", P, Q.ABOUT, 40),
    ("20 dan ortiq", P, Q.MORE, 21),
    ("20dan koʻp", P, Q.MORE, 21),
    ("bir necha", P, Q.SEVERAL, 3),
    ("40ta odam", P, Q.EXACT, 40),
    ("5 dan 10 gacha", P, Q.RANGE, 7),
    ("kamida 20", P, Q.AT_LEAST, 20),
    ("6 soat", H, Q.EXACT, 6),
    ("2 kun", H, Q.EXACT, 48),
    ("bir necha kun", H, Q.SEVERAL, 72),
    ("2 million", R, Q.EXACT, 2_000_000),
    ("150 ming rubl", R, Q.EXACT, 150_000),
]
KYRGYZ = [
    ("болжол менен 40", P, Q.ABOUT, 40),
    ("40ка жакын", P, Q.ABOUT, 40),
    ("20дан ашык", P, Q.MORE, 21),
    ("бир нече", P, Q.SEVERAL, 3),
    ("5тен 10го чейин", P, Q.RANGE, 7),
    ("кеминде 20", P, Q.AT_LEAST, 20),
    ("6 саат", H, Q.EXACT, 6),
    ("2 күн", H, Q.EXACT, 48),
    ("бир нече күн", H, Q.SEVERAL, 72),
    ("2 млн", R, Q.EXACT, 2_000_000),
    ("150 миң", R, Q.EXACT, 150_000),
]
# Not an answer to "how many": the reporter is asked again.
NOT_NUMBERS = [
    ("three", P),
    ("abc", P),
    ("-1", H),
    ("40 50", P),
    ("около", P),
    ("больше меньше 20", P),
    ("6 часов", P),  # hours are not people
    ("2 млн", H),  # nor are millions hours
    ("2 суток 3 недели", H),
    ("٤٠", P),  # digits of another script: see incident_service.numbers
    ("1" * 13, R),
    ("около 40 " + "x" * MAX_INPUT, P),
]


@pytest.mark.parametrize(
    ("typed", "quantity", "qualifier", "stored"),
    RUSSIAN + ENGLISH + TAJIK + UZBEK + KYRGYZ,
)
def test_is_each_natural_answer_read_as_it_was_meant(typed, quantity, qualifier, stored):
    reading = read_quantity(typed, quantity)
    assert reading is not None, typed
    assert (reading.qualifier, reading.value) == (qualifier, stored), typed


@pytest.mark.parametrize(("typed", "quantity"), NOT_NUMBERS)
def test_is_text_that_says_no_number_refused(typed, quantity):
    assert read_quantity(typed, quantity) is None


def test_does_about_40_fall_in_the_band_of_more_than_30_people():
    """The coded answers use bands: what is stored must land in the band meant."""
    assert taxonomy.group_size_band(int(read_quantity("около 40", P).value)) == "31+"
    assert taxonomy.group_size_band(int(read_quantity("больше 30", P).value)) == "31+"
    assert taxonomy.group_size_band(int(read_quantity("несколько", P).value)) == "2-5"
    assert taxonomy.duration_band(read_quantity("6 часов", H).value) == "3-12h"
    assert taxonomy.duration_band(read_quantity("больше 2 суток", H).value) == "2-7d"
    assert taxonomy.duration_band(read_quantity("меньше 3 часов", H).value) == "<3h"
    assert taxonomy.duration_band(read_quantity("больше месяца", H).value) == ">30d"


# -------------------------------------------------------------------------------------------
# Properties

numbers = st.integers(min_value=0, max_value=10**9)
quantities = st.sampled_from(list(Quantity))
ABOUT_WORDS = ["около", "примерно", "about", "тақрибан", "taxminan", "болжол менен", "~"]


@given(numbers, quantities)
def test_is_a_plain_number_read_as_itself(number, quantity):
    reading = read_quantity(str(number), quantity)
    assert reading is not None
    assert (reading.qualifier, reading.value) == (Qualifier.EXACT, number)
    assert is_plain_number(str(number))


@given(numbers, quantities, st.sampled_from(ABOUT_WORDS))
def test_is_about_n_counted_as_n_in_every_language(number, quantity, word):
    reading = read_quantity(f"{word} {number}", quantity)
    assert reading is not None
    assert (reading.qualifier, reading.value) == (Qualifier.ABOUT, number)
    assert not is_plain_number(f"{word} {number}")


@given(
    st.integers(min_value=1, max_value=1000),
    st.integers(min_value=1, max_value=1000),
    st.sampled_from(["{a}-{b}", "{a} – {b}", "от {a} до {b}", "{a} to {b}", "аз {a} то {b}"]),
)
def test_is_a_range_counted_inside_itself_and_in_its_band(a, b, pattern):
    reading = read_quantity(pattern.format(a=a, b=b), P)
    assert reading is not None and reading.qualifier is Qualifier.RANGE
    low, high = sorted((a, b))
    assert low <= reading.value <= high and reading.value.is_integer()
    if taxonomy.group_size_band(low) == taxonomy.group_size_band(high):
        assert taxonomy.group_size_band(int(reading.value)) == taxonomy.group_size_band(low)


@given(st.integers(min_value=1, max_value=999), st.sampled_from(list(Unit)))
def test_are_more_than_and_less_than_on_the_right_side_of_the_number(number, unit):
    words = {Unit.HOUR: "часов", Unit.DAY: "дней", Unit.WEEK: "недель", Unit.MONTH: "месяцев"}
    if unit not in words:
        return
    hours = number * {Unit.HOUR: 1, Unit.DAY: 24, Unit.WEEK: 168, Unit.MONTH: 720}[unit]
    more = read_quantity(f"больше {number} {words[unit]}", H)
    less = read_quantity(f"меньше {number} {words[unit]}", H)
    assert more is not None and less is not None
    assert less.value < hours < more.value
    assert more.unit is less.unit is unit


@settings(max_examples=300)
@given(st.text(max_size=80), quantities)
def test_does_nothing_typed_break_the_reader(text, quantity):
    reading = read_quantity(text, quantity)
    if reading is not None:
        assert math.isfinite(reading.value) and reading.low <= reading.high
