"""The controlled vocabularies and generalisation hierarchies: one place for every code.

Forms, the JSON API and its OpenAPI schema, templates, seeds, the anonymiser and the summaries all
import from here. Codes are stable and never reused; labels are English message ids translated
through Flask-Babel, except place names (proper nouns), which carry their Russian and English
forms and fall back to Russian for Tajik, Uzbek and Kyrgyz readers (see docs/decisions.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

# --------------------------------------------------------------------------------------------
# Building blocks


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


def _vocab(name: str, *terms: Term) -> Vocabulary:
    return Vocabulary(name, tuple(terms))


def _t(code: str, label: object, parent: str | None = None) -> Term:
    return Term(code=code, msgid=label, parent=parent)


def _place(code: str, ru: str, en: str, parent: str | None = None) -> Term:
    return Term(code=code, names=(("ru", ru), ("en", en)), parent=parent)


# --------------------------------------------------------------------------------------------
# Acts (design §5): each selected act becomes one act of the event.

ACT_GROUPS = _vocab(
    "act_groups",
    _t("DET", _l("Detention")),
    _t("BRD", _l("Airport or border check")),
    _t("MIL", _l("Pressure to join the military")),
    _t("DEP", _l("Expulsion")),
    _t("VIO", _l("Violence")),
    _t("EXT", _l("Extortion")),
    _t("CIT", _l("Status and citizenship")),
    _t("LAB", _l("Labour exploitation")),
)

ACTS = _vocab(
    "acts",
    _t("DET.01", _l("Raid at a workplace, dormitory or market"), "DET"),
    _t("DET.02", _l("Document check in the street"), "DET"),
    _t("DET.03", _l("Held in a detention centre for foreigners"), "DET"),
    _t("DET.04", _l("Held more than 48 hours without charge"), "DET"),
    _t("BRD.01", _l("Held for hours at the airport or border"), "BRD"),
    _t("BRD.02", _l("Phone searched"), "BRD"),
    _t("BRD.03", _l("Fingerprints taken by force"), "BRD"),
    _t("BRD.04", _l("Photographed by force"), "BRD"),
    _t("BRD.05", _l("Interrogated"), "BRD"),
    _t("BRD.06", _l("Entry denied"), "BRD"),
    _t("BRD.07", _l("Documents taken away"), "BRD"),
    _t("MIL.01", _l("Pressed to sign a military contract"), "MIL"),
    _t("MIL.02", _l("Offered citizenship for military service"), "MIL"),
    _t("MIL.03", _l("Threatened for refusing military service"), "MIL"),
    _t("MIL.04", _l("Summons sent to a naturalised citizen"), "MIL"),
    _t("DEP.01", _l("Threatened with deportation"), "DEP"),
    _t("DEP.02", _l("Expulsion order issued"), "DEP"),
    _t("DEP.03", _l("Removed from the country"), "DEP"),
    _t("DEP.04", _l("Banned from re-entering"), "DEP"),
    _t("VIO.01", _l("Beaten"), "VIO"),
    _t("VIO.02", _l("Ill-treated in custody"), "VIO"),
    _t("VIO.03", _l("Sexual violence"), "VIO"),
    _t("VIO.04", _l("Death"), "VIO"),
    _t("EXT.01", _l("Bribe demanded by an official"), "EXT"),
    _t("EXT.02", _l("Money demanded by an employer or intermediary"), "EXT"),
    _t("EXT.03", _l("Property or money taken"), "EXT"),
    _t("CIT.01", _l("Citizenship revoked"), "CIT"),
    _t("CIT.02", _l("Threatened with losing citizenship"), "CIT"),
    _t("CIT.03", _l("Work permit cancelled"), "CIT"),
    _t("LAB.01", _l("Forced or exploitative work"), "LAB"),
)

# ILO indicators of forced labour (2012). Indicators, not findings.
FORCED_LABOUR_INDICATORS = _vocab(
    "forced_labour_indicators",
    _t("FL01", _l("Abuse of vulnerability")),
    _t("FL02", _l("Deception")),
    _t("FL03", _l("Restriction of movement")),
    _t("FL04", _l("Isolation")),
    _t("FL05", _l("Physical or sexual violence")),
    _t("FL06", _l("Intimidation and threats")),
    _t("FL07", _l("Identity documents kept by someone else")),
    _t("FL08", _l("Wages withheld")),
    _t("FL09", _l("Debt bondage")),
    _t("FL10", _l("Abusive working and living conditions")),
    _t("FL11", _l("Excessive overtime")),
)

PERPETRATORS = _vocab(
    "perpetrators",
    _t("POL", _l("Police")),
    _t("MIG", _l("Migration service")),
    _t("BRD", _l("Border service or FSB")),
    _t("CUS", _l("Customs")),
    _t("MIL", _l("Military or recruiter")),
    _t("CRT", _l("Court or bailiffs")),
    _t("EMP", _l("Employer")),
    _t("INT", _l("Intermediary")),
    _t("VIG", _l("Vigilante or nationalist group")),
    _t("PRV", _l("Private person")),
    _t("UNK", _l("Unknown")),
)

LOCATION_TYPES = _vocab(
    "location_types",
    _t("AIR", _l("Airport")),
    _t("LBC", _l("Land border")),
    _t("WRK", _l("Workplace")),
    _t("RES", _l("Dormitory or home")),
    _t("PUB", _l("Street or transport")),
    _t("POL", _l("Police station")),
    _t("DTC", _l("Detention centre")),
    _t("MIG", _l("Migration centre")),
    _t("MCO", _l("Military enlistment office")),
    _t("ONL", _l("By phone or online")),
)

# --------------------------------------------------------------------------------------------
# Places: country (ISO 3166-1 alpha-2) → federal district → region (ISO 3166-2) → airport.

COUNTRIES = _vocab(
    "countries",
    _t("RU", _l("Russia")),
    _t("KZ", _l("Kazakhstan")),
    _t("BY", _l("Belarus")),
    _t("TJ", _l("Tajikistan")),
    _t("UZ", _l("Uzbekistan")),
    _t("KG", _l("Kyrgyzstan")),
    _t("ZZ", _l("Another country")),
)

FEDERAL_DISTRICTS = _vocab(
    "federal_districts",
    _place("CEN", "Центральный федеральный округ", "Central Federal District", "RU"),
    _place("NWE", "Северо-Западный федеральный округ", "Northwestern Federal District", "RU"),
    _place("SOU", "Южный федеральный округ", "Southern Federal District", "RU"),
    _place("NCA", "Северо-Кавказский федеральный округ", "North Caucasian Federal District", "RU"),
    _place("VOL", "Приволжский федеральный округ", "Volga Federal District", "RU"),
    _place("URA", "Уральский федеральный округ", "Ural Federal District", "RU"),
    _place("SIB", "Сибирский федеральный округ", "Siberian Federal District", "RU"),
    _place("FEA", "Дальневосточный федеральный округ", "Far Eastern Federal District", "RU"),
)

# Ordered so the regions where most reports come from are at the top of the form.
REGIONS = _vocab(
    "regions",
    _place("RU-MOW", "Москва", "Moscow", "CEN"),
    _place("RU-MOS", "Московская область", "Moscow Oblast", "CEN"),
    _place("RU-SPE", "Санкт-Петербург", "Saint Petersburg", "NWE"),
    _place("RU-LEN", "Ленинградская область", "Leningrad Oblast", "NWE"),
    _place("RU-AD", "Республика Адыгея", "Adygea", "SOU"),
    _place("RU-AL", "Республика Алтай", "Altai Republic", "SIB"),
    _place("RU-ALT", "Алтайский край", "Altai Krai", "SIB"),
    _place("RU-AMU", "Амурская область", "Amur Oblast", "FEA"),
    _place("RU-ARK", "Архангельская область", "Arkhangelsk Oblast", "NWE"),
    _place("RU-AST", "Астраханская область", "Astrakhan Oblast", "SOU"),
    _place("RU-BA", "Республика Башкортостан", "Bashkortostan", "VOL"),
    _place("RU-BEL", "Белгородская область", "Belgorod Oblast", "CEN"),
    _place("RU-BRY", "Брянская область", "Bryansk Oblast", "CEN"),
    _place("RU-BU", "Республика Бурятия", "Buryatia", "FEA"),
    _place("RU-CE", "Чеченская Республика", "Chechnya", "NCA"),
    _place("RU-CHE", "Челябинская область", "Chelyabinsk Oblast", "URA"),
    _place("RU-CHU", "Чукотский автономный округ", "Chukotka", "FEA"),
    _place("RU-CU", "Чувашская Республика", "Chuvashia", "VOL"),
    _place("RU-DA", "Республика Дагестан", "Dagestan", "NCA"),
    _place("RU-IN", "Республика Ингушетия", "Ingushetia", "NCA"),
    _place("RU-IRK", "Иркутская область", "Irkutsk Oblast", "SIB"),
    _place("RU-IVA", "Ивановская область", "Ivanovo Oblast", "CEN"),
    _place("RU-KB", "Кабардино-Балкарская Республика", "Kabardino-Balkaria", "NCA"),
    _place("RU-KC", "Карачаево-Черкесская Республика", "Karachay-Cherkessia", "NCA"),
    _place("RU-KDA", "Краснодарский край", "Krasnodar Krai", "SOU"),
    _place("RU-KEM", "Кемеровская область", "Kemerovo Oblast", "SIB"),
    _place("RU-KGD", "Калининградская область", "Kaliningrad Oblast", "NWE"),
    _place("RU-KGN", "Курганская область", "Kurgan Oblast", "URA"),
    _place("RU-KHA", "Хабаровский край", "Khabarovsk Krai", "FEA"),
    _place("RU-KHM", "Ханты-Мансийский автономный округ", "Khanty-Mansi Autonomous Okrug", "URA"),
    _place("RU-KIR", "Кировская область", "Kirov Oblast", "VOL"),
    _place("RU-KK", "Республика Хакасия", "Khakassia", "SIB"),
    _place("RU-KL", "Республика Калмыкия", "Kalmykia", "SOU"),
    _place("RU-KLU", "Калужская область", "Kaluga Oblast", "CEN"),
    _place("RU-KO", "Республика Коми", "Komi Republic", "NWE"),
    _place("RU-KOS", "Костромская область", "Kostroma Oblast", "CEN"),
    _place("RU-KR", "Республика Карелия", "Karelia", "NWE"),
    _place("RU-KRS", "Курская область", "Kursk Oblast", "CEN"),
    _place("RU-KYA", "Красноярский край", "Krasnoyarsk Krai", "SIB"),
    _place("RU-LIP", "Липецкая область", "Lipetsk Oblast", "CEN"),
    _place("RU-MAG", "Магаданская область", "Magadan Oblast", "FEA"),
    _place("RU-ME", "Республика Марий Эл", "Mari El", "VOL"),
    _place("RU-MO", "Республика Мордовия", "Mordovia", "VOL"),
    _place("RU-MUR", "Мурманская область", "Murmansk Oblast", "NWE"),
    _place("RU-NEN", "Ненецкий автономный округ", "Nenets Autonomous Okrug", "NWE"),
    _place("RU-NGR", "Новгородская область", "Novgorod Oblast", "NWE"),
    _place("RU-NIZ", "Нижегородская область", "Nizhny Novgorod Oblast", "VOL"),
    _place("RU-NVS", "Новосибирская область", "Novosibirsk Oblast", "SIB"),
    _place("RU-OMS", "Омская область", "Omsk Oblast", "SIB"),
    _place("RU-ORE", "Оренбургская область", "Orenburg Oblast", "VOL"),
    _place("RU-ORL", "Орловская область", "Oryol Oblast", "CEN"),
    _place("RU-PER", "Пермский край", "Perm Krai", "VOL"),
    _place("RU-PNZ", "Пензенская область", "Penza Oblast", "VOL"),
    _place("RU-PRI", "Приморский край", "Primorsky Krai", "FEA"),
    _place("RU-PSK", "Псковская область", "Pskov Oblast", "NWE"),
    _place("RU-ROS", "Ростовская область", "Rostov Oblast", "SOU"),
    _place("RU-RYA", "Рязанская область", "Ryazan Oblast", "CEN"),
    _place("RU-SA", "Республика Саха (Якутия)", "Sakha (Yakutia)", "FEA"),
    _place("RU-SAK", "Сахалинская область", "Sakhalin Oblast", "FEA"),
    _place("RU-SAM", "Самарская область", "Samara Oblast", "VOL"),
    _place("RU-SAR", "Саратовская область", "Saratov Oblast", "VOL"),
    _place("RU-SE", "Республика Северная Осетия — Алания", "North Ossetia–Alania", "NCA"),
    _place("RU-SMO", "Смоленская область", "Smolensk Oblast", "CEN"),
    _place("RU-STA", "Ставропольский край", "Stavropol Krai", "NCA"),
    _place("RU-SVE", "Свердловская область", "Sverdlovsk Oblast", "URA"),
    _place("RU-TA", "Республика Татарстан", "Tatarstan", "VOL"),
    _place("RU-TAM", "Тамбовская область", "Tambov Oblast", "CEN"),
    _place("RU-TOM", "Томская область", "Tomsk Oblast", "SIB"),
    _place("RU-TUL", "Тульская область", "Tula Oblast", "CEN"),
    _place("RU-TVE", "Тверская область", "Tver Oblast", "CEN"),
    _place("RU-TY", "Республика Тыва", "Tuva", "SIB"),
    _place("RU-TYU", "Тюменская область", "Tyumen Oblast", "URA"),
    _place("RU-UD", "Удмуртская Республика", "Udmurtia", "VOL"),
    _place("RU-ULY", "Ульяновская область", "Ulyanovsk Oblast", "VOL"),
    _place("RU-VGG", "Волгоградская область", "Volgograd Oblast", "SOU"),
    _place("RU-VLA", "Владимирская область", "Vladimir Oblast", "CEN"),
    _place("RU-VLG", "Вологодская область", "Vologda Oblast", "NWE"),
    _place("RU-VOR", "Воронежская область", "Voronezh Oblast", "CEN"),
    _place("RU-YAN", "Ямало-Ненецкий автономный округ", "Yamalo-Nenets Autonomous Okrug", "URA"),
    _place("RU-YAR", "Ярославская область", "Yaroslavl Oblast", "CEN"),
    _place("RU-YEV", "Еврейская автономная область", "Jewish Autonomous Oblast", "FEA"),
    _place("RU-ZAB", "Забайкальский край", "Zabaykalsky Krai", "FEA"),
)

AIRPORTS = _vocab(
    "airports",
    _place("LED", "Пулково (Санкт-Петербург)", "Pulkovo (Saint Petersburg)", "RU-SPE"),
    _place("VKO", "Внуково (Москва)", "Vnukovo (Moscow)", "RU-MOW"),
    _place("DME", "Домодедово (Москва)", "Domodedovo (Moscow)", "RU-MOS"),
    _place("SVO", "Шереметьево (Москва)", "Sheremetyevo (Moscow)", "RU-MOS"),
    _place("ZIA", "Жуковский (Москва)", "Zhukovsky (Moscow)", "RU-MOS"),
    _place("KZN", "Казань", "Kazan", "RU-TA"),
    _place("SVX", "Кольцово (Екатеринбург)", "Koltsovo (Yekaterinburg)", "RU-SVE"),
    _place("OVB", "Толмачёво (Новосибирск)", "Tolmachevo (Novosibirsk)", "RU-NVS"),
    _place("KUF", "Курумоч (Самара)", "Kurumoch (Samara)", "RU-SAM"),
    _place("KJA", "Емельяново (Красноярск)", "Yemelyanovo (Krasnoyarsk)", "RU-KYA"),
    _place("ROV", "Платов (Ростов-на-Дону)", "Platov (Rostov-on-Don)", "RU-ROS"),
    _place("UFA", "Уфа", "Ufa", "RU-BA"),
    _place("CEK", "Челябинск", "Chelyabinsk", "RU-CHE"),
    _place("PEE", "Пермь", "Perm", "RU-PER"),
    _place("AER", "Сочи", "Sochi", "RU-KDA"),
    _place("KRR", "Краснодар", "Krasnodar", "RU-KDA"),
    _place("MRV", "Минеральные Воды", "Mineralnye Vody", "RU-STA"),
    _place("TJM", "Рощино (Тюмень)", "Roshchino (Tyumen)", "RU-TYU"),
    _place("SGC", "Сургут", "Surgut", "RU-KHM"),
    _place("OMS", "Омск", "Omsk", "RU-OMS"),
    _place("IKT", "Иркутск", "Irkutsk", "RU-IRK"),
    _place("VVO", "Владивосток", "Vladivostok", "RU-PRI"),
)

# --------------------------------------------------------------------------------------------
# People

ORIGIN_REGIONS = _vocab(
    "origin_regions",
    _t("CAS", _l("Central Asia")),
    _t("CAU", _l("South Caucasus")),
    _t("EEU", _l("Eastern Europe")),
    _t("RUS", _l("Russia")),
    _t("OTH", _l("Elsewhere or stateless")),
)

CITIZENSHIPS = _vocab(
    "citizenships",
    _t("TJK", _l("Tajikistan"), "CAS"),
    _t("UZB", _l("Uzbekistan"), "CAS"),
    _t("KGZ", _l("Kyrgyzstan"), "CAS"),
    _t("KAZ", _l("Kazakhstan"), "CAS"),
    _t("TKM", _l("Turkmenistan"), "CAS"),
    _t("ARM", _l("Armenia"), "CAU"),
    _t("AZE", _l("Azerbaijan"), "CAU"),
    _t("GEO", _l("Georgia"), "CAU"),
    _t("MDA", _l("Moldova"), "EEU"),
    _t("UKR", _l("Ukraine"), "EEU"),
    _t("BLR", _l("Belarus"), "EEU"),
    _t("RUS", _l("Russia"), "RUS"),
    _t("AFG", _l("Afghanistan"), "OTH"),
    _t("XXA", _l("Stateless"), "OTH"),
    _t("ZZZ", _l("Another country"), "OTH"),
)

SEXES = _vocab(
    "sexes",
    _t("F", _l("Woman")),
    _t("M", _l("Man")),
    _t("X", _l("Other or prefer not to say")),
    _t("MIX", _l("Several people of different sexes")),
)

AGE_BANDS = _vocab(
    "age_bands",
    _t("0-17", _l("Under 18")),
    _t("18-24", _l("18 to 24")),
    _t("25-34", _l("25 to 34")),
    _t("35-44", _l("35 to 44")),
    _t("45-54", _l("45 to 54")),
    _t("55+", _l("55 or older")),
    _t("UNK", _l("Not known")),
)

LEGAL_STATUSES = _vocab(
    "legal_statuses",
    _t("PAT", _l("Work permit (patent)")),
    _t("TRP", _l("Temporary residence permit")),
    _t("RP", _l("Residence permit")),
    _t("NAT", _l("Naturalised Russian citizen")),
    _t("EAEU", _l("EAEU worker (no patent needed)")),
    _t("IRR", _l("No valid documents")),
    _t("STU", _l("Student")),
    _t("UNK", _l("Not known")),
)

# --------------------------------------------------------------------------------------------
# What happened next, who is reporting, how to reach them

OUTCOMES = _vocab(
    "outcomes",
    _t("REL", _l("Released")),
    _t("DEP", _l("Deported")),
    _t("DEN", _l("Entry denied")),
    _t("DET", _l("Still detained")),
    _t("SIG", _l("Signed a military contract")),
    _t("UNK", _l("Not known")),
)

REPORTER_ROLES = _vocab(
    "reporter_roles",
    _t("SELF", _l("It happened to me")),
    _t("RELATIVE", _l("A relative")),
    _t("WITNESS", _l("A witness or co-worker")),
    _t("COMMUNITY", _l("A community representative")),
)

CONTACT_CHANNELS = _vocab(
    "contact_channels",
    _t("PHONE", _l("Phone call")),
    _t("TELEGRAM", _l("Telegram")),
    _t("WHATSAPP", _l("WhatsApp")),
    _t("SIGNAL", _l("Signal")),
    _t("EMAIL", _l("Email")),
    _t("OTHER", _l("Other")),
)

DATE_PRECISIONS = _vocab(
    "date_precisions",
    _t("day", _l("Exact day")),
    _t("month", _l("Month only")),
    _t("year", _l("Year only")),
)

INTERVENTIONS = _vocab(
    "interventions",
    _t("LEG", _l("Lawyer")),
    _t("CMP", _l("Complaint to prosecutor or ombudsman")),
    _t("CON", _l("Consulate")),
    _t("MED", _l("Medical help")),
    _t("NGO", _l("Referral to another organisation")),
    _t("NON", _l("None")),
)

VERIFICATION_LEVELS = _vocab(
    "verification_levels",
    _t("0", _l("Self-reported")),
    _t("1", _l("Corroborated")),
    _t("2", _l("Verified by a caseworker")),
)

# --------------------------------------------------------------------------------------------
# Bands for numbers (generalisation of exact values)

GROUP_SIZE_BANDS = _vocab(
    "group_size_bands",
    _t("1", _l("One person")),
    _t("2-5", _l("2 to 5 people")),
    _t("6-10", _l("6 to 10 people")),
    _t("11-30", _l("11 to 30 people")),
    _t("31+", _l("More than 30 people")),
)

DURATION_BANDS = _vocab(
    "duration_bands",
    _t("<3h", _l("Less than 3 hours")),
    _t("3-12h", _l("3 to 12 hours")),
    _t("12-48h", _l("12 to 48 hours")),
    _t("2-7d", _l("2 to 7 days")),
    _t("7-30d", _l("1 to 4 weeks")),
    _t(">30d", _l("More than a month")),
    _t("UNK", _l("Not given")),
)

VOCABULARIES: dict[str, Vocabulary] = {
    vocabulary.name: vocabulary
    for vocabulary in (
        ACT_GROUPS,
        ACTS,
        FORCED_LABOUR_INDICATORS,
        PERPETRATORS,
        LOCATION_TYPES,
        COUNTRIES,
        FEDERAL_DISTRICTS,
        REGIONS,
        AIRPORTS,
        ORIGIN_REGIONS,
        CITIZENSHIPS,
        SEXES,
        AGE_BANDS,
        LEGAL_STATUSES,
        OUTCOMES,
        REPORTER_ROLES,
        CONTACT_CHANNELS,
        DATE_PRECISIONS,
        INTERVENTIONS,
        VERIFICATION_LEVELS,
        GROUP_SIZE_BANDS,
        DURATION_BANDS,
    )
}

# Limits that input validation and generalisation share.
EARLIEST_INCIDENT_YEAR = 2000
MAX_GROUP_SIZE = 1000
MAX_DURATION_HOURS = 24 * 366  # a year in detention is possible; longer is a typo
PERSONS_AFFECTED_TOP_CODE = 50  # group sizes above this count as 50 in statistics


# --------------------------------------------------------------------------------------------
# Generalisation hierarchies (design §5)


def act_group(act_code: str) -> str:
    """DET.03 → DET."""
    parent = ACTS.parent(act_code)
    assert parent is not None
    return parent


def region_district(region_code: str) -> str:
    """RU-SPE → NWE."""
    parent = REGIONS.parent(region_code)
    assert parent is not None
    return parent


def airport_region(airport_code: str) -> str:
    """LED → RU-SPE."""
    parent = AIRPORTS.parent(airport_code)
    assert parent is not None
    return parent


def citizenship_origin(citizenship_code: str) -> str:
    """TJK → CAS."""
    parent = CITIZENSHIPS.parent(citizenship_code)
    assert parent is not None
    return parent


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_of(month: str) -> str:
    year, month_number = month.split("-")
    return f"{year}-Q{(int(month_number) - 1) // 3 + 1}"


def year_of(month: str) -> str:
    return month.split("-")[0]


def group_size_band(size: int | None) -> str:
    if size is None or size <= 1:
        return "1"
    if size <= 5:
        return "2-5"
    if size <= 10:
        return "6-10"
    if size <= 30:
        return "11-30"
    return "31+"


def duration_band(hours: float | None) -> str:
    if hours is None:
        return "UNK"
    if hours < 3:
        return "<3h"
    if hours < 12:
        return "3-12h"
    if hours < 48:
        return "12-48h"
    if hours < 24 * 7:
        return "2-7d"
    if hours <= 24 * 30:
        return "7-30d"
    return ">30d"


def persons_affected(size: int | None) -> int:
    """Group size as counted in statistics: at least one, top-coded."""
    if size is None or size < 1:
        return 1
    return min(size, PERSONS_AFFECTED_TOP_CODE)


# Queue priorities, highest first. Intake sets the first four; caseworkers may set any of them
# (and LOW) on the case page. The queue sorts by priority, then newest day received.
PRIORITY_DETAINED = 4  # someone is still detained
PRIORITY_CHILDREN = 3  # children are involved
PRIORITY_VIOLENCE = 2  # violence was used
PRIORITY_NORMAL = 1
PRIORITY_LOW = 0


def urgency(*, outcome: str | None, acts: list[str], children: bool) -> int:
    """Queue priority computed at intake: still detained, then children involved, then
    violence, then everything else (the order the issue asks the queue to follow)."""
    if outcome == "DET":
        return PRIORITY_DETAINED
    if children:
        return PRIORITY_CHILDREN
    if any(act_group(code) == "VIO" for code in acts):
        return PRIORITY_VIOLENCE
    return PRIORITY_NORMAL
