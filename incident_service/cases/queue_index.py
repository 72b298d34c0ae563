"""The queue's filter and urgency index, kept sealed at rest and opened in memory.

Nothing on a report row says how urgent it is or which acts, region or country it concerns: a
database dump matched those against the statistical records and linked records back to their
reports (tests/attacks/test_linked_records.py). The queue instead reads them from what is
already sealed to the team key — the coded answers give the urgency intake would have set, and
a caseworker's own choice is a small envelope of its own (`Report.priority_override`).

Opening an envelope costs about 0.1 ms, so each web process keeps what it opened in memory,
per organisation and report id: a report's coded answers never change (key rotation re-seals
the same plaintext), and an override is looked up by its report and ciphertext, so a changed
override is opened again. Only a request holding the team key can fill the cache, and
entries are found only through rows of the viewer's own organisation. What this memory holds,
and why, is in docs/architecture.md.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select

from incident_service import taxonomy
from incident_service.constants import Section
from incident_service.crypto import RecipientPrivateKey, RecipientPublicKey, bindings, seal
from incident_service.crypto.envelopes import open_envelope
from incident_service.crypto.errors import CryptoError
from incident_service.models import Report, db

# Entries kept per process; about 300 bytes each, so the bound is some 60 MB at most.
MAX_ENTRIES = 200_000
# Statistical sections fetched per round trip when many reports are new to this process.
FETCH_CHUNK = 1_000


@dataclass(frozen=True)
class CaseSummary:
    """The coded answers the queue shows for one row (opened with the team key)."""

    incident_date: str
    act_groups: list[str]
    acts: list[str]
    place: list[str]
    outcome: str | None
    group_size: int
    children: bool


class IndexEntry(NamedTuple):
    """What the queue filters, sorts and shows a report by: codes from its coded answers, never
    labels (those depend on the viewer's language and are looked up per request). A named
    tuple: a restarted process builds tens of thousands of them from its chunks."""

    urgency: int
    acts: tuple[str, ...]
    act_groups: frozenset[str]
    airport: str | None
    region: str | None
    country: str | None
    incident_date: str
    outcome: str | None
    group_size: int
    children: bool


# A report opened for the index: its id, the day it was received, its entry.
Opened = tuple[str, dt.date, IndexEntry]


def joined_report_ids(dialect: str) -> Any:
    """Report ids as one comma-separated string: one value crosses the wire much faster than a
    row per report (what the queue and the index chunks ask when they need many ids)."""
    if dialect == "postgresql":
        return func.string_agg(Report.id, ",")
    return func.group_concat(Report.id, ",")


def entry_from_coded(coded: dict[str, Any]) -> IndexEntry:
    acts = tuple(str(code) for code in coded.get("acts", []))
    people = coded.get("people") or {}
    children = bool(people.get("children_involved"))
    outcome = coded.get("outcome")
    return IndexEntry(
        urgency=taxonomy.urgency(outcome=outcome, acts=list(acts), children=children),
        acts=acts,
        act_groups=frozenset(taxonomy.act_group(code) for code in acts),
        airport=coded.get("airport") or None,
        region=coded.get("region") or None,
        country=coded.get("country") or None,
        incident_date=str(coded.get("incident_date", "")),
        outcome=outcome,
        group_size=int(people.get("group_size") or 1),
        children=children,
    )


def summary(entry: IndexEntry) -> CaseSummary:
    """The row's summary, with place names in the viewer's language."""
    place = [
        label
        for label in (
            taxonomy.AIRPORTS.label(entry.airport) if entry.airport else None,
            taxonomy.REGIONS.label(entry.region) if entry.region else None,
            taxonomy.COUNTRIES.label(entry.country) if entry.country else None,
        )
        if label
    ]
    return CaseSummary(
        incident_date=entry.incident_date,
        act_groups=sorted(entry.act_groups),
        acts=list(entry.acts),
        place=place,
        outcome=entry.outcome,
        group_size=entry.group_size,
        children=entry.children,
    )


class _Organisation:
    """One organisation's opened entries and their queue order.

    `order` holds (urgency, day received as an ordinal, report id) ascending. It is replaced,
    never changed in place, so that a page can walk it outside the lock."""

    __slots__ = ("dirty", "entries", "keys", "loaded", "order", "unsaved")

    def __init__(self) -> None:
        self.entries: dict[str, IndexEntry] = {}
        self.keys: dict[str, tuple[int, int, str]] = {}
        self.order: list[tuple[int, int, str]] = []
        self.dirty = False
        self.loaded = False  # the sealed chunks at rest are in memory (queue_store.load)
        self.unsaved: list[Opened] = []  # opened here, not yet written to a chunk


class _Cache:
    """Bounded, thread-safe memory of opened entries per organisation, and of the priorities in
    override envelopes (found by report and ciphertext)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._organisations: dict[int, _Organisation] = {}
        # Keyed by the report as well: an envelope copied onto another report's row must be
        # opened (and refused) under that report's binding, never answered from memory.
        self._overrides: OrderedDict[tuple[str, bytes], int] = OrderedDict()

    def entry(self, organisation_id: int, report_id: str) -> IndexEntry | None:
        with self._lock:
            known = self._organisations.get(organisation_id)
            return known.entries.get(report_id) if known else None

    def unknown(self, organisation_id: int, report_ids: Iterable[str]) -> list[str]:
        """Those of the reports that this process has not opened yet."""
        with self._lock:
            known = self._organisations.get(organisation_id)
            if known is None:
                return list(report_ids)
            wanted = report_ids if isinstance(report_ids, set) else set(report_ids)
            return list(wanted - known.entries.keys())

    def put_entries(
        self, organisation_id: int, opened: Iterable[Opened], *, saved: bool = False
    ) -> None:
        """Remember opened entries; unless `saved`, also note them for the next chunk."""
        with self._lock:
            known = self._organisations.setdefault(organisation_id, _Organisation())
            for item in opened:
                report_id, received_on, entry = item
                key = (entry.urgency, received_on.toordinal(), report_id)
                if known.keys.get(report_id) != key:
                    known.keys[report_id] = key
                    known.dirty = True
                if not saved and report_id not in known.entries:
                    known.unsaved.append(item)
                known.entries[report_id] = entry
            if sum(len(each.entries) for each in self._organisations.values()) > self.limit:
                # Rare (the bound is far above any organisation's backlog): start this
                # organisation again rather than keep a half-evicted order.
                self._organisations = {organisation_id: known}
                if len(known.entries) > self.limit:
                    self._organisations.clear()

    def ordered(
        self, organisation_id: int
    ) -> tuple[list[tuple[int, int, str]], dict[str, IndexEntry]]:
        """The organisation's keys in ascending queue order, and its entries."""
        with self._lock:
            known = self._organisations.get(organisation_id)
            if known is None:
                return [], {}
            if known.dirty:
                known.order = sorted(known.keys.values())
                known.dirty = False
            return known.order, known.entries

    def is_loaded(self, organisation_id: int) -> bool:
        with self._lock:
            known = self._organisations.get(organisation_id)
            return known is not None and known.loaded

    def mark_loaded(self, organisation_id: int) -> None:
        with self._lock:
            self._organisations.setdefault(organisation_id, _Organisation()).loaded = True

    def take_unsaved(self, organisation_id: int) -> list[Opened]:
        with self._lock:
            known = self._organisations.get(organisation_id)
            if known is None:
                return []
            unsaved, known.unsaved = known.unsaved, []
            return unsaved

    def override(self, report_id: str, sealed: bytes) -> int | None:
        with self._lock:
            return self._overrides.get((report_id, sealed))

    def put_override(self, report_id: str, sealed: bytes, priority: int) -> None:
        with self._lock:
            self._overrides[(report_id, sealed)] = priority
            while len(self._overrides) > self.limit:
                self._overrides.popitem(last=False)

    def forget(self, organisation_id: int, report_id: str) -> None:
        with self._lock:
            known = self._organisations.get(organisation_id)
            if known is not None and report_id in known.entries:
                del known.entries[report_id]
                del known.keys[report_id]
                known.dirty = True

    def clear(self) -> None:
        with self._lock:
            self._organisations.clear()
            self._overrides.clear()


CACHE = _Cache(MAX_ENTRIES)


def _open_coded(report_id: str, blob: bytes, team_key: RecipientPrivateKey) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        open_envelope(
            blob,
            context=bindings.report_section(report_id, Section.STATISTICAL),
            private_key=team_key,
        )
    )
    return document


def open_reports(
    organisation_id: int, report_ids: Sequence[str], team_key: RecipientPrivateKey
) -> tuple[dict[str, IndexEntry], list[tuple[str, dt.date]]]:
    """Open the coded answers of reports new to this process, in chunks, and remember them.

    Returns the entries opened and the reports whose answers do not open with this team key
    (with their day received); those are not remembered, so that they are tried again once the
    key that opens them is present."""
    opened: dict[str, IndexEntry] = {}
    unreadable: list[tuple[str, dt.date]] = []
    for start in range(0, len(report_ids), FETCH_CHUNK):
        chunk = report_ids[start : start + FETCH_CHUNK]
        rows = db.session.execute(
            select(Report.id, Report.received_on, Report.statistical_section).where(
                Report.organisation_id == organisation_id, Report.id.in_(chunk)
            )
        ).all()
        remembered: list[Opened] = []
        for report_id, received_on, blob in rows:
            try:
                entry = entry_from_coded(_open_coded(report_id, blob, team_key))
            except (CryptoError, ValueError, TypeError, KeyError):
                unreadable.append((report_id, received_on))
                continue
            remembered.append((report_id, received_on, entry))
            opened[report_id] = entry
        CACHE.put_entries(organisation_id, remembered)
    return opened, unreadable


def entry_for(
    organisation_id: int, report_id: str, team_key: RecipientPrivateKey
) -> IndexEntry | None:
    """One report's entry (None when its coded answers do not open with this team key)."""
    known = CACHE.entry(organisation_id, report_id)
    if known is not None:
        return known
    opened, _ = open_reports(organisation_id, [report_id], team_key)
    return opened.get(report_id)


def entry_for_opened(
    organisation_id: int, report_id: str, received_on: dt.date, coded: dict[str, Any]
) -> IndexEntry:
    """The entry of a report whose coded answers the caller has already opened."""
    entry = entry_from_coded(coded)
    CACHE.put_entries(organisation_id, [(report_id, received_on, entry)])
    return entry


def seal_override(report_id: str, priority: int, team_public: RecipientPublicKey) -> bytes:
    return seal(
        json.dumps({"priority": priority}).encode(),
        context=bindings.report_priority(report_id),
        recipients=[team_public],
    )


def open_override(report_id: str, sealed: bytes, team_key: RecipientPrivateKey) -> int | None:
    """The priority a caseworker chose, or None if the envelope does not open."""
    known = CACHE.override(report_id, sealed)
    if known is not None:
        return known
    try:
        document = json.loads(
            open_envelope(sealed, context=bindings.report_priority(report_id), private_key=team_key)
        )
        priority = int(document["priority"])
    except (CryptoError, ValueError, TypeError, KeyError):
        return None
    CACHE.put_override(report_id, sealed, priority)
    return priority


def effective_priority(
    entry: IndexEntry | None,
    report_id: str,
    override: bytes | None,
    team_key: RecipientPrivateKey,
) -> int:
    """A caseworker's choice if there is one, else the urgency of the coded answers."""
    if override is not None:
        chosen = open_override(report_id, override, team_key)
        if chosen is not None:
            return chosen
    return entry.urgency if entry is not None else taxonomy.PRIORITY_NORMAL


def matches(entry: IndexEntry | None, *, act_group: str | None, region: str | None) -> bool:
    if not act_group and not region:
        return True
    if entry is None:
        return False
    return (not act_group or act_group in entry.act_groups) and (
        not region or entry.region == region
    )


def forget(organisation_id: int, report_ids: Iterable[str]) -> None:
    """Drop deleted reports' entries (their ids are never reused; this only frees memory)."""
    for report_id in report_ids:
        CACHE.forget(organisation_id, report_id)
