"""A small SOQL evaluator for exactly the forms the connector sends:
SELECT f, … FROM Obj [WHERE cond [AND cond]…] [ORDER BY f, …] [LIMIT n], where cond is `F > 2026-…Z`,
`F = true|false`, `F = 'text'` or `Id IN ('a', 'b')`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_QUERY = re.compile(r"^SELECT (?P<fields>.+?) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?"
                    r"(?: ORDER BY (?P<order>.+?))?(?: LIMIT (?P<limit>\d+))?$", re.IGNORECASE)
_COND = re.compile(r"^(?P<field>[\w.]+) (?P<op>>|=|<|>=|<=|!=|IN) (?P<value>.+)$", re.IGNORECASE)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class SoqlError(ValueError):
    pass


@dataclass
class Query:
    fields: list[str]
    obj: str
    conditions: list[tuple[str, str, object]]
    order: list[str]
    limit: int | None


def parse(soql: str) -> Query:
    m = _QUERY.match(" ".join(soql.split()))
    if not m:
        raise SoqlError(f"unexpected query form: {soql}")
    conditions = []
    for part in re.split(r" AND ", m["where"] or "", flags=re.IGNORECASE) if m["where"] else []:
        c = _COND.match(part.strip())
        if not c:
            raise SoqlError(f"unexpected condition: {part}")
        if c["op"].upper() == "IN":
            items = c["value"].strip()
            if not (items.startswith("(") and items.endswith(")")):
                raise SoqlError(f"unexpected IN list: {items}")
            conditions.append((c["field"], "IN", {_literal(i.strip()) for i in items[1:-1].split(",")}))
        else:
            conditions.append((c["field"], c["op"], _literal(c["value"])))
    order = [f.strip() for f in (m["order"] or "").split(",") if f.strip()]
    return Query([f.strip() for f in m["fields"].split(",")], m["obj"], conditions, order,
                 int(m["limit"]) if m["limit"] else None)


def _literal(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    try:  # the fake's times are all text like "2026-01-01T00:00:00.000+0000", which sorts as time does
        return _stamp(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise SoqlError(f"unexpected literal: {text}") from None


def matches(record: dict, conditions: list[tuple[str, str, object]]) -> bool:
    for name, op, value in conditions:
        have = record.get(name)
        if have is None:
            return False
        if op == "IN":
            if have not in value:
                return False
            continue
        ok = {">": have > value, "<": have < value, ">=": have >= value, "<=": have <= value, "=": have == value,
              "!=": have != value}[op]
        if not ok:
            return False
    return True
