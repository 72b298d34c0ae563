"""What was done and by whom: act groups, acts, forced-labour indicators, perpetrators."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incident_service.taxonomy.terms import concept, vocabulary

# Acts (design §5): each selected act becomes one act of the event.

ACT_GROUPS = vocabulary(
    "act_groups",
    concept("DET", _l("Detention")),
    concept("BRD", _l("Airport or border check")),
    concept("MIL", _l("Pressure to join the military")),
    concept("DEP", _l("Expulsion")),
    concept("VIO", _l("Violence")),
    concept("EXT", _l("Extortion")),
    concept("CIT", _l("Status and citizenship")),
    concept("LAB", _l("Labour exploitation")),
)

ACTS = vocabulary(
    "acts",
    concept("DET.01", _l("Raid at a workplace, dormitory or market"), "DET"),
    concept("DET.02", _l("Document check in the street"), "DET"),
    concept("DET.03", _l("Held in a detention centre for foreigners"), "DET"),
    concept("DET.04", _l("Held more than 48 hours without charge"), "DET"),
    concept("BRD.01", _l("Held for hours at the airport or border"), "BRD"),
    concept("BRD.02", _l("Phone searched"), "BRD"),
    concept("BRD.03", _l("Fingerprints taken by force"), "BRD"),
    concept("BRD.04", _l("Photographed by force"), "BRD"),
    concept("BRD.05", _l("Interrogated"), "BRD"),
    concept("BRD.06", _l("Entry denied"), "BRD"),
    concept("BRD.07", _l("Documents taken away"), "BRD"),
    concept("MIL.01", _l("Pressed to sign a military contract"), "MIL"),
    concept("MIL.02", _l("Offered citizenship for military service"), "MIL"),
    concept("MIL.03", _l("Threatened for refusing military service"), "MIL"),
    concept("MIL.04", _l("Summons sent to a naturalised citizen"), "MIL"),
    concept("DEP.01", _l("Threatened with deportation"), "DEP"),
    concept("DEP.02", _l("Expulsion order issued"), "DEP"),
    concept("DEP.03", _l("Removed from the country"), "DEP"),
    concept("DEP.04", _l("Banned from re-entering"), "DEP"),
    concept("VIO.01", _l("Beaten"), "VIO"),
    concept("VIO.02", _l("Ill-treated in custody"), "VIO"),
    concept("VIO.03", _l("Sexual violence"), "VIO"),
    concept("VIO.04", _l("Death"), "VIO"),
    concept("EXT.01", _l("Bribe demanded by an official"), "EXT"),
    concept("EXT.02", _l("Money demanded by an employer or intermediary"), "EXT"),
    concept("EXT.03", _l("Property or money taken"), "EXT"),
    concept("CIT.01", _l("Citizenship revoked"), "CIT"),
    concept("CIT.02", _l("Threatened with losing citizenship"), "CIT"),
    concept("CIT.03", _l("Work permit cancelled"), "CIT"),
    concept("LAB.01", _l("Forced or exploitative work"), "LAB"),
)

# ILO indicators of forced labour (2012). Indicators, not findings.
FORCED_LABOUR_INDICATORS = vocabulary(
    "forced_labour_indicators",
    concept("FL01", _l("Abuse of vulnerability")),
    concept("FL02", _l("Deception")),
    concept("FL03", _l("Restriction of movement")),
    concept("FL04", _l("Isolation")),
    concept("FL05", _l("Physical or sexual violence")),
    concept("FL06", _l("Intimidation and threats")),
    concept("FL07", _l("Identity documents kept by someone else")),
    concept("FL08", _l("Wages withheld")),
    concept("FL09", _l("Debt bondage")),
    concept("FL10", _l("Abusive working and living conditions")),
    concept("FL11", _l("Excessive overtime")),
)

PERPETRATORS = vocabulary(
    "perpetrators",
    concept("POL", _l("Police")),
    concept("MIG", _l("Migration service")),
    concept("BRD", _l("Border service or FSB")),
    concept("CUS", _l("Customs")),
    concept("MIL", _l("Military or recruiter")),
    concept("CRT", _l("Court or bailiffs")),
    concept("EMP", _l("Employer")),
    concept("INT", _l("Intermediary")),
    concept("VIG", _l("Vigilante or nationalist group")),
    concept("PRV", _l("Private person")),
    concept("UNK", _l("Unknown")),
)
