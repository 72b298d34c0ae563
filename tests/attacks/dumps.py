"""What an attacker takes away: every key and value of a Redis database, every row of every
table. Shared by the attack scripts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def redis_dump(url: str) -> dict[bytes, list[bytes]]:
    """Every key with every value it holds (strings, hashes, lists, sets, sorted sets)."""
    import redis

    client = redis.Redis.from_url(url)
    dump: dict[bytes, list[bytes]] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        values: list[Any]
        if kind == b"string":
            values = [client.get(key)]
        elif kind == b"hash":
            values = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        dump[key] = [v for v in values if isinstance(v, bytes)]
    return dump


def database_dump(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as `pg_dump` or a copy of the SQLite file would give them."""
    tables: dict[str, list[dict[str, Any]]] = {}
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            tables[table.name] = [dict(row._mapping) for row in connection.execute(table.select())]
    return tables
