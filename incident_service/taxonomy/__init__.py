"""The controlled vocabularies and generalisation hierarchies: one place for every code.

Forms, the JSON API and its OpenAPI schema, templates, seeds, the anonymiser and the summaries all
import from here. Codes are stable and never reused; labels are English message ids translated
through Flask-Babel, except place names (proper nouns), which carry their Russian, English and
Uzbek Latin forms and fall back to Russian for Tajik and Kyrgyz readers (see docs/decisions.md).
`Vocabulary.label(code, language)` and `place_label(code, language)` give a label in a language
other than the page's.

The vocabularies live in modules by subject (`acts`, `places`, `people`, `reporting`, `bands`),
built from `terms`; `hierarchies` and `priorities` hold the functions over them. Callers import
the package (`from incident_service import taxonomy`, then `taxonomy.REGIONS`): which module
holds a vocabulary may change as the vocabularies grow, the names here do not.
"""

from __future__ import annotations

from incident_service.taxonomy.acts import (
    ACT_GROUPS,
    ACTS,
    FORCED_LABOUR_INDICATORS,
    PERPETRATORS,
)
from incident_service.taxonomy.bands import (
    DURATION_BANDS,
    EARLIEST_INCIDENT_YEAR,
    GROUP_SIZE_BANDS,
    MAX_DURATION_HOURS,
    MAX_GROUP_SIZE,
    PERSONS_AFFECTED_TOP_CODE,
    duration_band,
    group_size_band,
    persons_affected,
)
from incident_service.taxonomy.hierarchies import (
    act_group,
    airport_region,
    citizenship_origin,
    month_of,
    quarter_of,
    region_district,
    year_of,
)
from incident_service.taxonomy.people import (
    AGE_BANDS,
    CITIZENSHIPS,
    LEGAL_STATUSES,
    ORIGIN_REGIONS,
    SEXES,
)
from incident_service.taxonomy.places import (
    AIRPORTS,
    COUNTRIES,
    FEDERAL_DISTRICTS,
    LOCATION_TYPES,
    REGIONS,
    place_label,
)
from incident_service.taxonomy.priorities import (
    PRIORITY_CHILDREN,
    PRIORITY_DETAINED,
    PRIORITY_LOW,
    PRIORITY_NORMAL,
    PRIORITY_VIOLENCE,
    urgency,
)
from incident_service.taxonomy.reporting import (
    CONTACT_CHANNELS,
    DATE_PRECISIONS,
    INTERVENTIONS,
    OUTCOMES,
    REPORTER_ROLES,
    VERIFICATION_LEVELS,
)
from incident_service.taxonomy.terms import Term, Vocabulary

# Every vocabulary by name, in the order the API's /taxonomy, its schema and the tests list them.
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

__all__ = [
    "ACTS",
    "ACT_GROUPS",
    "AGE_BANDS",
    "AIRPORTS",
    "CITIZENSHIPS",
    "CONTACT_CHANNELS",
    "COUNTRIES",
    "DATE_PRECISIONS",
    "DURATION_BANDS",
    "EARLIEST_INCIDENT_YEAR",
    "FEDERAL_DISTRICTS",
    "FORCED_LABOUR_INDICATORS",
    "GROUP_SIZE_BANDS",
    "INTERVENTIONS",
    "LEGAL_STATUSES",
    "LOCATION_TYPES",
    "MAX_DURATION_HOURS",
    "MAX_GROUP_SIZE",
    "ORIGIN_REGIONS",
    "OUTCOMES",
    "PERPETRATORS",
    "PERSONS_AFFECTED_TOP_CODE",
    "PRIORITY_CHILDREN",
    "PRIORITY_DETAINED",
    "PRIORITY_LOW",
    "PRIORITY_NORMAL",
    "PRIORITY_VIOLENCE",
    "REGIONS",
    "REPORTER_ROLES",
    "SEXES",
    "VERIFICATION_LEVELS",
    "VOCABULARIES",
    "Term",
    "Vocabulary",
    "act_group",
    "airport_region",
    "citizenship_origin",
    "duration_band",
    "group_size_band",
    "month_of",
    "persons_affected",
    "place_label",
    "quarter_of",
    "region_district",
    "urgency",
    "year_of",
]
