"""Where it happened: the kind of place, and country → federal district → region → airport.

Place names are proper nouns: each carries its own name in Russian, English and Uzbek Latin
script (`terms.place`, `latin_names`), not a message id. Tajik and Kyrgyz pages, in Cyrillic
script, show the Russian name, which is what documents and signs in Russia say.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incident_service.taxonomy.latin_names import (
    UZBEK_AIRPORTS,
    UZBEK_FEDERAL_DISTRICTS,
    UZBEK_REGIONS,
)
from incident_service.taxonomy.terms import Vocabulary, concept, place, vocabulary, with_names

LOCATION_TYPES = vocabulary(
    "location_types",
    concept("AIR", _l("Airport")),
    concept("LBC", _l("Land border")),
    concept("WRK", _l("Workplace")),
    concept("RES", _l("Dormitory or home")),
    concept("PUB", _l("Street or transport")),
    concept("POL", _l("Police station")),
    concept("DTC", _l("Detention centre")),
    concept("MIG", _l("Migration centre")),
    concept("MCO", _l("Military enlistment office")),
    concept("ONL", _l("By phone or online")),
)

# Country (ISO 3166-1 alpha-2) → federal district → region (ISO 3166-2) → airport.

COUNTRIES = vocabulary(
    "countries",
    concept("RU", _l("Russia")),
    concept("KZ", _l("Kazakhstan")),
    concept("BY", _l("Belarus")),
    concept("TJ", _l("Tajikistan")),
    concept("UZ", _l("Uzbekistan")),
    concept("KG", _l("Kyrgyzstan")),
    concept("ZZ", _l("Another country")),
)

FEDERAL_DISTRICTS = vocabulary(  # named in Uzbek below
    "federal_districts",
    place("CEN", "Центральный федеральный округ", "Central Federal District", "RU"),
    place("NWE", "Северо-Западный федеральный округ", "Northwestern Federal District", "RU"),
    place("SOU", "Южный федеральный округ", "Southern Federal District", "RU"),
    place("NCA", "Северо-Кавказский федеральный округ", "North Caucasian Federal District", "RU"),
    place("VOL", "Приволжский федеральный округ", "Volga Federal District", "RU"),
    place("URA", "Уральский федеральный округ", "Ural Federal District", "RU"),
    place("SIB", "Сибирский федеральный округ", "Siberian Federal District", "RU"),
    place("FEA", "Дальневосточный федеральный округ", "Far Eastern Federal District", "RU"),
)

# Ordered so the regions where most reports come from are at the top of the form.
REGIONS = vocabulary(  # named in Uzbek below
    "regions",
    place("RU-MOW", "Москва", "Moscow", "CEN"),
    place("RU-MOS", "Московская область", "Moscow Oblast", "CEN"),
    place("RU-SPE", "Санкт-Петербург", "Saint Petersburg", "NWE"),
    place("RU-LEN", "Ленинградская область", "Leningrad Oblast", "NWE"),
    place("RU-AD", "Республика Адыгея", "Adygea", "SOU"),
    place("RU-AL", "Республика Алтай", "Altai Republic", "SIB"),
    place("RU-ALT", "Алтайский край", "Altai Krai", "SIB"),
    place("RU-AMU", "Амурская область", "Amur Oblast", "FEA"),
    place("RU-ARK", "Архангельская область", "Arkhangelsk Oblast", "NWE"),
    place("RU-AST", "Астраханская область", "Astrakhan Oblast", "SOU"),
    place("RU-BA", "Республика Башкортостан", "Bashkortostan", "VOL"),
    place("RU-BEL", "Белгородская область", "Belgorod Oblast", "CEN"),
    place("RU-BRY", "Брянская область", "Bryansk Oblast", "CEN"),
    place("RU-BU", "Республика Бурятия", "Buryatia", "FEA"),
    place("RU-CE", "Чеченская Республика", "Chechnya", "NCA"),
    place("RU-CHE", "Челябинская область", "Chelyabinsk Oblast", "URA"),
    place("RU-CHU", "Чукотский автономный округ", "Chukotka", "FEA"),
    place("RU-CU", "Чувашская Республика", "Chuvashia", "VOL"),
    place("RU-DA", "Республика Дагестан", "Dagestan", "NCA"),
    place("RU-IN", "Республика Ингушетия", "Ingushetia", "NCA"),
    place("RU-IRK", "Иркутская область", "Irkutsk Oblast", "SIB"),
    place("RU-IVA", "Ивановская область", "Ivanovo Oblast", "CEN"),
    place("RU-KB", "Кабардино-Балкарская Республика", "Kabardino-Balkaria", "NCA"),
    place("RU-KC", "Карачаево-Черкесская Республика", "Karachay-Cherkessia", "NCA"),
    place("RU-KDA", "Краснодарский край", "Krasnodar Krai", "SOU"),
    place("RU-KEM", "Кемеровская область", "Kemerovo Oblast", "SIB"),
    place("RU-KGD", "Калининградская область", "Kaliningrad Oblast", "NWE"),
    place("RU-KGN", "Курганская область", "Kurgan Oblast", "URA"),
    place("RU-KHA", "Хабаровский край", "Khabarovsk Krai", "FEA"),
    place("RU-KHM", "Ханты-Мансийский автономный округ", "Khanty-Mansi Autonomous Okrug", "URA"),
    place("RU-KIR", "Кировская область", "Kirov Oblast", "VOL"),
    place("RU-KK", "Республика Хакасия", "Khakassia", "SIB"),
    place("RU-KL", "Республика Калмыкия", "Kalmykia", "SOU"),
    place("RU-KLU", "Калужская область", "Kaluga Oblast", "CEN"),
    place("RU-KO", "Республика Коми", "Komi Republic", "NWE"),
    place("RU-KOS", "Костромская область", "Kostroma Oblast", "CEN"),
    place("RU-KR", "Республика Карелия", "Karelia", "NWE"),
    place("RU-KRS", "Курская область", "Kursk Oblast", "CEN"),
    place("RU-KYA", "Красноярский край", "Krasnoyarsk Krai", "SIB"),
    place("RU-LIP", "Липецкая область", "Lipetsk Oblast", "CEN"),
    place("RU-MAG", "Магаданская область", "Magadan Oblast", "FEA"),
    place("RU-ME", "Республика Марий Эл", "Mari El", "VOL"),
    place("RU-MO", "Республика Мордовия", "Mordovia", "VOL"),
    place("RU-MUR", "Мурманская область", "Murmansk Oblast", "NWE"),
    place("RU-NEN", "Ненецкий автономный округ", "Nenets Autonomous Okrug", "NWE"),
    place("RU-NGR", "Новгородская область", "Novgorod Oblast", "NWE"),
    place("RU-NIZ", "Нижегородская область", "Nizhny Novgorod Oblast", "VOL"),
    place("RU-NVS", "Новосибирская область", "Novosibirsk Oblast", "SIB"),
    place("RU-OMS", "Омская область", "Omsk Oblast", "SIB"),
    place("RU-ORE", "Оренбургская область", "Orenburg Oblast", "VOL"),
    place("RU-ORL", "Орловская область", "Oryol Oblast", "CEN"),
    place("RU-PER", "Пермский край", "Perm Krai", "VOL"),
    place("RU-PNZ", "Пензенская область", "Penza Oblast", "VOL"),
    place("RU-PRI", "Приморский край", "Primorsky Krai", "FEA"),
    place("RU-PSK", "Псковская область", "Pskov Oblast", "NWE"),
    place("RU-ROS", "Ростовская область", "Rostov Oblast", "SOU"),
    place("RU-RYA", "Рязанская область", "Ryazan Oblast", "CEN"),
    place("RU-SA", "Республика Саха (Якутия)", "Sakha (Yakutia)", "FEA"),
    place("RU-SAK", "Сахалинская область", "Sakhalin Oblast", "FEA"),
    place("RU-SAM", "Самарская область", "Samara Oblast", "VOL"),
    place("RU-SAR", "Саратовская область", "Saratov Oblast", "VOL"),
    place("RU-SE", "Республика Северная Осетия — Алания", "North Ossetia–Alania", "NCA"),
    place("RU-SMO", "Смоленская область", "Smolensk Oblast", "CEN"),
    place("RU-STA", "Ставропольский край", "Stavropol Krai", "NCA"),
    place("RU-SVE", "Свердловская область", "Sverdlovsk Oblast", "URA"),
    place("RU-TA", "Республика Татарстан", "Tatarstan", "VOL"),
    place("RU-TAM", "Тамбовская область", "Tambov Oblast", "CEN"),
    place("RU-TOM", "Томская область", "Tomsk Oblast", "SIB"),
    place("RU-TUL", "Тульская область", "Tula Oblast", "CEN"),
    place("RU-TVE", "Тверская область", "Tver Oblast", "CEN"),
    place("RU-TY", "Республика Тыва", "Tuva", "SIB"),
    place("RU-TYU", "Тюменская область", "Tyumen Oblast", "URA"),
    place("RU-UD", "Удмуртская Республика", "Udmurtia", "VOL"),
    place("RU-ULY", "Ульяновская область", "Ulyanovsk Oblast", "VOL"),
    place("RU-VGG", "Волгоградская область", "Volgograd Oblast", "SOU"),
    place("RU-VLA", "Владимирская область", "Vladimir Oblast", "CEN"),
    place("RU-VLG", "Вологодская область", "Vologda Oblast", "NWE"),
    place("RU-VOR", "Воронежская область", "Voronezh Oblast", "CEN"),
    place("RU-YAN", "Ямало-Ненецкий автономный округ", "Yamalo-Nenets Autonomous Okrug", "URA"),
    place("RU-YAR", "Ярославская область", "Yaroslavl Oblast", "CEN"),
    place("RU-YEV", "Еврейская автономная область", "Jewish Autonomous Oblast", "FEA"),
    place("RU-ZAB", "Забайкальский край", "Zabaykalsky Krai", "FEA"),
)

AIRPORTS = vocabulary(  # named in Uzbek below
    "airports",
    place("LED", "Пулково (Санкт-Петербург)", "Pulkovo (Saint Petersburg)", "RU-SPE"),
    place("VKO", "Внуково (Москва)", "Vnukovo (Moscow)", "RU-MOW"),
    place("DME", "Домодедово (Москва)", "Domodedovo (Moscow)", "RU-MOS"),
    place("SVO", "Шереметьево (Москва)", "Sheremetyevo (Moscow)", "RU-MOS"),
    place("ZIA", "Жуковский (Москва)", "Zhukovsky (Moscow)", "RU-MOS"),
    place("KZN", "Казань", "Kazan", "RU-TA"),
    place("SVX", "Кольцово (Екатеринбург)", "Koltsovo (Yekaterinburg)", "RU-SVE"),
    place("OVB", "Толмачёво (Новосибирск)", "Tolmachevo (Novosibirsk)", "RU-NVS"),
    place("KUF", "Курумоч (Самара)", "Kurumoch (Samara)", "RU-SAM"),
    place("KJA", "Емельяново (Красноярск)", "Yemelyanovo (Krasnoyarsk)", "RU-KYA"),
    place("ROV", "Платов (Ростов-на-Дону)", "Platov (Rostov-on-Don)", "RU-ROS"),
    place("UFA", "Уфа", "Ufa", "RU-BA"),
    place("CEK", "Челябинск", "Chelyabinsk", "RU-CHE"),
    place("PEE", "Пермь", "Perm", "RU-PER"),
    place("AER", "Сочи", "Sochi", "RU-KDA"),
    place("KRR", "Краснодар", "Krasnodar", "RU-KDA"),
    place("MRV", "Минеральные Воды", "Mineralnye Vody", "RU-STA"),
    place("TJM", "Рощино (Тюмень)", "Roshchino (Tyumen)", "RU-TYU"),
    place("SGC", "Сургут", "Surgut", "RU-KHM"),
    place("OMS", "Омск", "Omsk", "RU-OMS"),
    place("IKT", "Иркутск", "Irkutsk", "RU-IRK"),
    place("VVO", "Владивосток", "Vladivostok", "RU-PRI"),
)

FEDERAL_DISTRICTS = with_names(FEDERAL_DISTRICTS, "uz", UZBEK_FEDERAL_DISTRICTS)
REGIONS = with_names(REGIONS, "uz", UZBEK_REGIONS)
AIRPORTS = with_names(AIRPORTS, "uz", UZBEK_AIRPORTS)

_PLACES: dict[str, Vocabulary] = {
    term.code: places for places in (FEDERAL_DISTRICTS, REGIONS, AIRPORTS) for term in places
}
assert len(_PLACES) == len(FEDERAL_DISTRICTS) + len(REGIONS) + len(AIRPORTS), "codes collide"


def place_label(code: str, language: str) -> str:
    """A federal district's, region's or airport's name as a page in `language` shows it:
    "Moskva viloyati" in Uzbek, "Moscow Oblast" in English, "Московская область" otherwise."""
    places = _PLACES.get(code)
    return places.label(code, language) if places is not None else code
