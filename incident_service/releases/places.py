"""The places of a release: countries, federal districts, regions, airports and types of place.

They are one disclosure-control component because an airport lies in a region and (where the
data shows it) implies "airport" as the type of place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from incident_service import taxonomy
from incident_service.releases.counts import Code, RecordCounts
from incident_service.releases.disclosure import Component
from incident_service.releases.table_specs import (
    ANY,
    NOT_STATED,
    BuiltComponent,
    RowSpec,
    TableSpec,
    row_for,
    single_leaves,
)

PlaceLeaf = tuple[Code, Code, Code, Code]  # country, federal district, region, airport


def _a_priori_places() -> list[PlaceLeaf]:
    """Every place a record could hold under the anonymiser's rules (a region implies Russia
    and its district; an airport implies its region), in the order tables list them."""
    leaves: list[PlaceLeaf] = [("RU", None, None, None)]
    for district in taxonomy.FEDERAL_DISTRICTS:
        leaves.append(("RU", district.code, None, None))
        for region in taxonomy.REGIONS.children(district.code):
            leaves.append(("RU", district.code, region.code, None))
            for airport in taxonomy.AIRPORTS.children(region.code):
                leaves.append(("RU", district.code, region.code, airport.code))
    leaves += [(c, None, None, None) for c in taxonomy.COUNTRIES.codes() if c != "RU"]
    return leaves


def _leaf_key(leaf: PlaceLeaf) -> str:
    return "|".join(part or "" for part in leaf)


@dataclass
class _PlaceCounts:
    """The places cells summed into geography leaves and types of place."""

    geo: dict[PlaceLeaf, int]
    locations: dict[str, int]
    # Reports that break a rule the data usually obeys (an airport is a place of type "AIR").
    airport_not_air: int = 0
    air_without_airport: int = 0


def _place_counts(counts: RecordCounts) -> _PlaceCounts:
    places = _PlaceCounts(
        geo=dict.fromkeys(_a_priori_places(), 0),
        locations=single_leaves({}, "location_types"),
    )
    for (country, district, region, airport, location), n in counts.places.items():
        leaf = (country, district, region, airport)
        places.geo[leaf] = places.geo.get(leaf, 0) + n
        key = NOT_STATED if location is None else location
        places.locations[key] = places.locations.get(key, 0) + n
        if airport is not None and location != "AIR":
            places.airport_not_air += n
        if airport is None and location == "AIR":
            places.air_without_airport += n
    return places


@dataclass
class _Geography:
    """The geography leaves of the places component: cells are sums of them."""

    component: Component
    counts: dict[PlaceLeaf, int]
    index: dict[PlaceLeaf, int]  # leaf → variable

    # Callable[..., bool]: predicates bind their loop's codes as default arguments.
    def cell(self, key: str, predicate: Callable[..., bool]) -> None:
        members = [(i, 1.0) for leaf, i in self.index.items() if predicate(leaf)]
        value = sum(n for leaf, n in self.counts.items() if predicate(leaf))
        self.component.cell(key, members, value)


def _regions_table(geography: _Geography) -> TableSpec:
    """Countries; for Russia, its federal districts; for each district, its regions."""
    regions = TableSpec(id="by_region", dimension="region")
    for country in taxonomy.COUNTRIES.codes():
        row = RowSpec(
            key=f"country:{country}",
            vocabulary="countries",
            code=country,
            dims=(("country", country),),
        )
        regions.rows.append(row)
        geography.cell(regions.cell(row), lambda leaf, c=country: leaf[0] == c)
        if country != "RU":
            continue
        for district in [*taxonomy.FEDERAL_DISTRICTS.codes(), None]:
            row = RowSpec(
                key=f"district:{district or NOT_STATED}",
                vocabulary="federal_districts" if district else None,
                code=district,
                level=1,
                dims=(("country", "RU"), ("federal_district", district)),
            )
            regions.rows.append(row)
            geography.cell(
                regions.cell(row), lambda leaf, d=district: leaf[0] == "RU" and leaf[1] == d
            )
            if district is None:
                continue
            for region in [*(t.code for t in taxonomy.REGIONS.children(district)), None]:
                row = RowSpec(
                    key=f"region:{region or district + ':' + NOT_STATED}",
                    vocabulary="regions" if region else None,
                    code=region,
                    level=2,
                    dims=(("country", "RU"), ("federal_district", district), ("region", region)),
                )
                regions.rows.append(row)
                geography.cell(
                    regions.cell(row),
                    lambda leaf, d=district, r=region: (
                        leaf[0] == "RU" and leaf[1] == d and leaf[2] == r
                    ),
                )
    # An observed place outside the a-priori list (a reporter's region that is not their
    # airport's) is counted in every row whose code it carries, like any other.
    return regions


def _airports_table(geography: _Geography) -> TableSpec:
    airports = TableSpec(id="by_airport", dimension="airport", total_key=ANY)
    total_row = RowSpec(key=ANY, vocabulary=None, code=None, dims=(("airport", None),))
    airports.rows.append(total_row)
    geography.cell(airports.cell(total_row), lambda leaf: leaf[3] is not None)
    for airport in taxonomy.AIRPORTS.codes():
        row = RowSpec(
            key=airport,
            vocabulary="airports",
            code=airport,
            level=1,
            dims=(("region", taxonomy.airport_region(airport)), ("airport", airport)),
        )
        airports.rows.append(row)
        geography.cell(airports.cell(row), lambda leaf, a=airport: leaf[3] == a)
    return airports


def _location_table(
    component: Component, locations: Mapping[str, int], location_index: Mapping[str, int]
) -> TableSpec:
    location_table = TableSpec(id="by_location_type", dimension="location_type")
    for key, n in locations.items():
        row = (
            RowSpec(key=key, vocabulary=None, code=None, dims=(("location_type", None),))
            if key == NOT_STATED
            else row_for("location_types", key, dimension="location_type")
        )
        location_table.rows.append(row)
        component.cell(location_table.cell(row), ((location_index[key], 1.0),), n)
    return location_table


def places_component(counts: RecordCounts) -> BuiltComponent:
    """Countries, federal districts, regions, airports and location types: one component,
    because an airport lies in a region and (where the data shows it) implies "airport" as
    the type of place."""
    places = _place_counts(counts)
    component = Component(name="places", total=counts.total)
    geo_index = {leaf: component.variable(_leaf_key(leaf), n) for leaf, n in places.geo.items()}
    location_index = {
        key: component.variable(f"location:{key}", n) for key, n in places.locations.items()
    }
    component.equal(((i, 1.0) for i in geo_index.values()), counts.total)
    component.equal(((i, 1.0) for i in location_index.values()), counts.total)
    airport_leaves = [i for leaf, i in geo_index.items() if leaf[3] is not None]
    air = location_index["AIR"]
    # Rules the data obeys are assumed known to readers: assuming more can only make the
    # audit stricter.
    if places.airport_not_air == 0:
        component.at_most(((air, -1.0), *((i, 1.0) for i in airport_leaves)), 0, derived=True)
    if places.air_without_airport == 0:
        component.at_most(((air, 1.0), *((i, -1.0) for i in airport_leaves)), 0, derived=True)
    geography = _Geography(component, places.geo, geo_index)
    regions = _regions_table(geography)
    airports = _airports_table(geography)
    location_table = _location_table(component, places.locations, location_index)
    return BuiltComponent(component, [regions, airports, location_table])
