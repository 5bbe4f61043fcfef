"""A fake HubSpot CRM v3 API on 127.0.0.1: owners, deal pipelines, properties, search (filterGroups, sorts, `after`
paging, the result ceiling; a hook to change records between pages), batch read with propertiesWithHistory, v4
association batch reads and the archived listing; records the tests add, change and archive (every property
change kept in its history); faults to inject (429 with Retry-After, 500, 401) and an optional ten-second request
window on a clock the client's sleeps move forward."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime

from tests.fakecrm.server import FakeCrmServer

OBJECTS = ("companies", "deals", "calls", "emails", "meetings", "notes", "tasks")
PROPERTIES = {
    "companies": ["name", "industry", "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "hs_object_id"],
    "deals": ["dealname", "amount", "dealstage", "pipeline", "closedate", "createdate", "hubspot_owner_id",
              "deal_currency_code", "hs_manual_forecast_category", "hs_next_step", "hs_lastmodifieddate",
              "hs_object_id"],
    "calls": ["hs_call_title", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate", "hs_object_id"],
    "emails": ["hs_email_subject", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate", "hs_object_id"],
    "meetings": ["hs_meeting_title", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate", "hs_object_id"],
    "notes": ["hs_note_body", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate", "hs_object_id"],
    "tasks": ["hs_task_subject", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate", "hs_object_id"],
}
ENGAGEMENT_SUBJECT = {"calls": "hs_call_title", "emails": "hs_email_subject", "meetings": "hs_meeting_title",
                      "notes": "hs_note_body", "tasks": "hs_task_subject"}
DATES = {"createdate", "closedate", "hs_lastmodifieddate", "hs_timestamp"}
OPERATORS = {"EQ": lambda a, b: a == b, "NEQ": lambda a, b: a != b, "GT": lambda a, b: a > b,
             "GTE": lambda a, b: a >= b, "LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b}


def hs_time(moment: datetime | date) -> str:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class FakeHubSpot(FakeCrmServer):
    def __init__(self, token: str = "pat-na1-fake", ceiling: int = 10_000):
        super().__init__()
        self.token, self.ceiling = token, ceiling
        self.records: dict[str, dict[str, dict]] = {name: {} for name in OBJECTS}
        self.owners: dict[str, dict] = {}
        self.pipelines: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.search_totals: list[int] = []  # the total of every search answered
        self.refused: list[tuple[int, str]] = []  # (status, path) of every refusal served
        self.window: tuple[int, float] | None = None  # (requests, seconds): the ten-second limit, when set
        self.on_search: Callable[[str, dict], None] | None = None  # called (object, request) before each search
        self._window_calls: deque[float] = deque()
        self._slept = 0.0
        self._ids = itertools.count(1001)

    def env(self, **extra: str) -> dict[str, str]:
        return {"HUBSPOT_ACCESS_TOKEN": self.token, "HUBSPOT_API_URL": self.url, **extra}

    def sleep(self, seconds: float) -> None:
        """The client's sleep: moves the fake's rate-limit clock on instead of waiting."""
        with self._lock:
            self._slept += seconds

    # --- data ------------------------------------------------------------------------------------------

    def now(self) -> str:
        return hs_time(self.tick())

    def add_owner(self, first: str, last: str, email: str, team: str | None = None, archived: bool = False) -> str:
        oid = str(next(self._ids))
        self.owners[oid] = {"id": oid, "email": email, "firstName": first, "lastName": last, "userId": int(oid) + 7,
                            "archived": archived, "teams": [{"id": "1", "name": team, "primary": True}] if team else [],
                            "createdAt": self.now(), "updatedAt": self.now()}
        return oid

    def add_pipeline(self, label: str, stages: list[tuple[str, str, bool]]) -> list[str]:
        """stages: (label, probability as HubSpot writes it, "0.2", closed)."""
        pid = str(next(self._ids))
        ids = [f"{pid}-{i}" for i in range(len(stages))]
        shown = [{"id": sid, "label": name, "displayOrder": i, "archived": False,
                  "metadata": {"isClosed": "true" if closed else "false", "probability": probability}}
                 for i, (sid, (name, probability, closed)) in enumerate(zip(ids, stages, strict=True))]
        self.pipelines.append({"id": pid, "label": label, "displayOrder": len(self.pipelines), "archived": False,
                               "stages": shown})
        return ids

    def add(self, obj: str, at: str | None = None, **properties) -> str:
        """A record; `at` backdates its creation (its first history entries), the modification time is now."""
        with self._lock:
            rid = str(next(self._ids))
            stamp = self.now()
            created = at or stamp
            record = {"id": rid, "properties": {"hs_object_id": rid, "createdate": created},
                      "history": {}, "archived": False, "archivedAt": None, "assoc": {}}
            self.records[obj][rid] = record
            self._set(record, properties, created)
            record["properties"]["hs_lastmodifieddate"] = stamp
            return rid

    def update(self, obj: str, rid: str, **properties) -> None:
        with self._lock:
            record = self.records[obj][rid]
            stamp = self.now()
            self._set(record, properties, stamp)
            record["properties"]["hs_lastmodifieddate"] = stamp

    def _set(self, record: dict, properties: dict, stamp: str) -> None:
        for name, value in properties.items():
            value = None if value is None else str(value)
            if record["properties"].get(name) != value or name not in record["history"]:
                record["history"].setdefault(name, []).insert(0, {"value": value, "timestamp": stamp,
                                                                  "sourceType": "CRM_UI"})
            record["properties"][name] = value

    def associate(self, obj: str, rid: str, other: str, other_id: str, primary: bool = False) -> None:
        with self._lock:
            self.records[obj][rid]["assoc"].setdefault(other, {})[other_id] = primary
            self.records[other][other_id]["assoc"].setdefault(obj, {})[rid] = primary

    def archive(self, obj: str, rid: str) -> None:
        with self._lock:
            self.records[obj][rid].update(archived=True, archivedAt=self.now())

    def live(self, obj: str) -> list[dict]:
        """What a user of the portal sees: the records not archived, as {"id": ..., **properties}."""
        return [{"id": r["id"], **r["properties"]} for r in self.records[obj].values() if not r["archived"]]

    # --- faults ----------------------------------------------------------------------------------------

    def _over_window(self) -> tuple[bool, dict]:
        """The ten-second window on the fake's clock (real time plus what the client slept)."""
        if self.window is None:
            return False, {}
        limit, seconds = self.window
        with self._lock:
            clock = time.monotonic() + self._slept
            while self._window_calls and self._window_calls[0] <= clock - seconds:
                self._window_calls.popleft()
            if len(self._window_calls) >= limit:
                return True, {}
            self._window_calls.append(clock)
            return False, {"X-HubSpot-RateLimit-Max": str(limit),
                           "X-HubSpot-RateLimit-Remaining": str(limit - len(self._window_calls)),
                           "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(seconds * 1000))}

    # --- serving ---------------------------------------------------------------------------------------

    @staticmethod
    def read_body(raw: bytes) -> dict:
        return json.loads(raw or b"{}")

    def handle(self, method: str, path: str, body: dict, headers) -> tuple[int, object, dict]:
        self.requests.append((method, path))
        status, answer, extra = self._answer(method, path, body, headers)
        if status >= 400:
            self.refused.append((status, path))
        return status, answer, extra

    def _answer(self, method: str, path: str, body: dict, headers) -> tuple[int, object, dict]:
        if headers.get("Authorization", "") != f"Bearer {self.token}":
            return 401, {"status": "error", "message": "Authentication credentials not found.",
                         "category": "INVALID_AUTHENTICATION"}, {}
        url = urllib.parse.urlsplit(path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        if f := self._fault(_kind(parts)):  # an injected fault does not count in the window
            extra = {"Retry-After": f.retry_after} if f.retry_after else {}
            return f.status, f.body or {"status": "error", "message": "injected", "category": "INJECTED"}, extra
        over, window = self._over_window()
        if over:
            return 429, {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                         "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}, {}
        with self._lock:
            status, answer = self._route(method, parts, query, body)
        return status, answer, window

    def _route(self, method: str, parts: list[str], query: dict, body: dict) -> tuple[int, object]:
        if parts[:3] == ["crm", "v3", "owners"]:
            return self._owners(query)
        if parts[:4] == ["crm", "v3", "pipelines", "deals"]:
            return 200, {"results": self.pipelines}
        if parts[:3] == ["crm", "v3", "properties"] and parts[3] in PROPERTIES:
            return 200, {"results": [{"name": n, "type": "datetime" if n in DATES else "string"}
                                     for n in PROPERTIES[parts[3]]]}
        if parts[:3] == ["crm", "v4", "associations"] and method == "POST":
            return self._associations(parts[3], parts[4], body)
        if parts[:3] != ["crm", "v3", "objects"] or len(parts) < 4 or parts[3] not in OBJECTS:
            return 404, {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}
        obj, rest = parts[3], parts[4:]
        if rest == ["search"] and method == "POST":
            return self._search(obj, body)
        if rest == ["batch", "read"] and method == "POST":
            return self._batch_read(obj, body)
        if not rest and method == "GET":
            return self._list(obj, query)
        return 404, {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}

    def _owners(self, query: dict) -> tuple[int, object]:
        archived = query.get("archived", "false") == "true"
        rows = [o for o in self.owners.values() if o["archived"] == archived]
        return 200, _paged(rows, query, 500)

    def _search(self, obj: str, body: dict) -> tuple[int, object]:
        if self.on_search is not None:  # a test changing the portal while a search is paged
            self.on_search(obj, body)
        limit = int(body.get("limit", 10))
        if limit > 200:
            return 400, {"status": "error", "message": "limit may not exceed 200", "category": "VALIDATION_ERROR"}
        offset = int(body.get("after") or 0)
        if offset >= self.ceiling:
            return 400, {"status": "error", "message": f"Cannot page beyond {self.ceiling} results",
                         "category": "VALIDATION_ERROR"}
        groups = body.get("filterGroups") or []
        rows = [r for r in self.records[obj].values() if not r["archived"]
                and (not groups or any(all(_matches(r, f) for f in g.get("filters", [])) for g in groups))]
        rows.sort(key=lambda r: int(r["id"]))
        for sort in reversed(body.get("sorts") or []):
            name = sort if isinstance(sort, str) else sort["propertyName"]
            descending = not isinstance(sort, str) and sort.get("direction") == "DESCENDING"
            rows.sort(key=lambda r, n=name: _value(n, r["properties"].get(n)) or 0, reverse=descending)
        self.search_totals.append(len(rows))
        end = min(offset + limit, len(rows), self.ceiling)
        shown = [self._shown(r, body.get("properties") or []) for r in rows[offset:end]]
        answer = {"total": len(rows), "results": shown}
        if end < min(len(rows), self.ceiling):
            answer["paging"] = {"next": {"after": str(end)}}
        return 200, answer

    def _batch_read(self, obj: str, body: dict) -> tuple[int, object]:
        inputs = [str(i["id"]) for i in body.get("inputs", [])]
        history = body.get("propertiesWithHistory") or []
        if len(inputs) > (50 if history else 100):
            return 400, {"status": "error", "message": "too many inputs", "category": "VALIDATION_ERROR"}
        stored = self.records[obj]
        found = [stored[i] for i in inputs if i in stored and not stored[i]["archived"]]
        results = []
        for r in found:
            shown = self._shown(r, body.get("properties") or [])
            if history:
                shown["propertiesWithHistory"] = {p: list(r["history"].get(p, [])) for p in history}
            results.append(shown)
        missing = [i for i in inputs if i not in {r["id"] for r in found}]
        answer = {"status": "COMPLETE", "results": results}
        if missing:
            answer["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing}}]
        return (207 if missing else 200), answer

    def _associations(self, obj: str, other: str, body: dict) -> tuple[int, object]:
        results, missing = [], []
        for rid in (str(i["id"]) for i in body.get("inputs", [])):
            linked = self.records.get(obj, {}).get(rid, {}).get("assoc", {}).get(other, {})
            if not linked:
                missing.append(rid)
                continue
            results.append({"from": {"id": rid}, "to": [
                {"toObjectId": int(oid), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": 5 if primary else 341,
                     "label": "Primary" if primary else None}]} for oid, primary in linked.items()]})
        answer = {"status": "COMPLETE", "results": results}
        if missing:
            answer["errors"] = [{"status": "error", "category": "NO_ASSOCIATIONS_FOUND",
                                 "context": {"fromObjectId": [m]}} for m in missing]
        return (207 if missing else 200), answer

    def _list(self, obj: str, query: dict) -> tuple[int, object]:
        archived = query.get("archived", "false") == "true"
        rows = [r for r in self.records[obj].values() if r["archived"] == archived]
        rows.sort(key=lambda r: int(r["id"]))
        props = [p for p in query.get("properties", "").split(",") if p]
        shown = [{**self._shown(r, props), **({"archivedAt": r["archivedAt"]} if archived else {})} for r in rows]
        return 200, _paged(shown, query, 100)

    def _shown(self, record: dict, properties: list[str]) -> dict:
        p = record["properties"]
        names = ["hs_object_id", "createdate", "hs_lastmodifieddate", *properties]
        return {"id": record["id"], "properties": {n: p.get(n) for n in names}, "createdAt": p["createdate"],
                "updatedAt": p["hs_lastmodifieddate"], "archived": record["archived"]}


def _kind(parts: list[str]) -> str:
    if parts[-1:] == ["search"]:
        return "search"
    if parts[-2:] == ["batch", "read"]:
        return "associations" if parts[1] == "v4" else "batch"
    return {"owners": "owners", "pipelines": "pipelines", "properties": "properties"}.get(parts[2], "list")


def _value(name: str, text):
    """A property value as search compares it: epoch milliseconds for dates, numbers, else text."""
    if text is None:
        return None
    text = str(text)
    if text.lstrip("-").isdigit():
        return int(text)
    if name in DATES:
        return _ms(text)
    return text


def _matches(record: dict, f: dict) -> bool:
    name, op = f["propertyName"], f["operator"]
    have = record["properties"].get(name)
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    if have is None:
        return False
    return OPERATORS[op](_value(name, have), _value(name, f["value"]))


def _paged(rows: list, query: dict, most: int) -> dict:
    limit = min(int(query.get("limit", 100)), most)
    offset = int(query.get("after") or 0)
    answer = {"results": rows[offset:offset + limit]}
    if offset + limit < len(rows):
        answer["paging"] = {"next": {"after": str(offset + limit)}}
    return answer

