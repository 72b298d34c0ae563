"""Around the act: what happened next, who reports and how, and what caseworkers record.

Outcomes, reporter roles, contact channels, how exact the incident date is, interventions and
verification levels.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incident_service.taxonomy.terms import concept, vocabulary

OUTCOMES = vocabulary(
    "outcomes",
    concept("REL", _l("Released")),
    concept("DEP", _l("Deported")),
    concept("DEN", _l("Entry denied")),
    concept("DET", _l("Still detained")),
    concept("SIG", _l("Signed a military contract")),
    concept("UNK", _l("Not known")),
)

REPORTER_ROLES = vocabulary(
    "reporter_roles",
    concept("SELF", _l("It happened to me")),
    concept("RELATIVE", _l("A relative")),
    concept("WITNESS", _l("A witness or co-worker")),
    concept("COMMUNITY", _l("A community representative")),
)

CONTACT_CHANNELS = vocabulary(
    "contact_channels",
    concept("PHONE", _l("Phone call")),
    concept("TELEGRAM", _l("Telegram")),
    concept("WHATSAPP", _l("WhatsApp")),
    concept("SIGNAL", _l("Signal")),
    concept("EMAIL", _l("Email")),
    concept("OTHER", _l("Other")),
)

DATE_PRECISIONS = vocabulary(
    "date_precisions",
    concept("day", _l("Exact day")),
    concept("month", _l("Month only")),
    concept("year", _l("Year only")),
)

INTERVENTIONS = vocabulary(
    "interventions",
    concept("LEG", _l("Lawyer")),
    concept("CMP", _l("Complaint to prosecutor or ombudsman")),
    concept("CON", _l("Consulate")),
    concept("MED", _l("Medical help")),
    concept("NGO", _l("Referral to another organisation")),
    concept("NON", _l("None")),
)

VERIFICATION_LEVELS = vocabulary(
    "verification_levels",
    concept("0", _l("Self-reported")),
    concept("1", _l("Corroborated")),
    concept("2", _l("Verified by a caseworker")),
)
