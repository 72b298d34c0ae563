"""Who it happened to: origin region, citizenship, sex, age band and legal status."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incident_service.taxonomy.terms import concept, vocabulary

ORIGIN_REGIONS = vocabulary(
    "origin_regions",
    concept("CAS", _l("Central Asia")),
    concept("CAU", _l("South Caucasus")),
    concept("EEU", _l("Eastern Europe")),
    concept("RUS", _l("Russia")),
    concept("OTH", _l("Elsewhere or stateless")),
)

CITIZENSHIPS = vocabulary(
    "citizenships",
    concept("TJK", _l("Tajikistan"), "CAS"),
    concept("UZB", _l("Uzbekistan"), "CAS"),
    concept("KGZ", _l("Kyrgyzstan"), "CAS"),
    concept("KAZ", _l("Kazakhstan"), "CAS"),
    concept("TKM", _l("Turkmenistan"), "CAS"),
    concept("ARM", _l("Armenia"), "CAU"),
    concept("AZE", _l("Azerbaijan"), "CAU"),
    concept("GEO", _l("Georgia"), "CAU"),
    concept("MDA", _l("Moldova"), "EEU"),
    concept("UKR", _l("Ukraine"), "EEU"),
    concept("BLR", _l("Belarus"), "EEU"),
    concept("RUS", _l("Russia"), "RUS"),
    concept("AFG", _l("Afghanistan"), "OTH"),
    concept("XXA", _l("Stateless"), "OTH"),
    concept("ZZZ", _l("Another country"), "OTH"),
)

SEXES = vocabulary(
    "sexes",
    concept("F", _l("Woman")),
    concept("M", _l("Man")),
    concept("X", _l("Other or prefer not to say")),
    concept("MIX", _l("Several people of different sexes")),
)

AGE_BANDS = vocabulary(
    "age_bands",
    concept("0-17", _l("Under 18")),
    concept("18-24", _l("18 to 24")),
    concept("25-34", _l("25 to 34")),
    concept("35-44", _l("35 to 44")),
    concept("45-54", _l("45 to 54")),
    concept("55+", _l("55 or older")),
    concept("UNK", _l("Not known")),
)

LEGAL_STATUSES = vocabulary(
    "legal_statuses",
    concept("PAT", _l("Work permit (patent)")),
    concept("TRP", _l("Temporary residence permit")),
    concept("RP", _l("Residence permit")),
    concept("NAT", _l("Naturalised Russian citizen")),
    concept("EAEU", _l("EAEU worker (no patent needed)")),
    concept("IRR", _l("No valid documents")),
    concept("STU", _l("Student")),
    concept("UNK", _l("Not known")),
)
