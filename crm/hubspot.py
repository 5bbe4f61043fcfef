"""HubSpot connector: the CRM v3 API over plain HTTP (`requests` through crm.http), read-only.

Why not hubspot-api-client: its API factory (hubspot/discovery/discovery_base.py) sets only the token, retries and
SSL verification on each generated package's Configuration, whose host stays https://api.hubapi.com, so
HUBSPOT_API_URL (a proxy, http://127.0.0.1:PORT for a local test server) would need a custom factory for every
package used; and its urllib3 retries would be a second retry policy beside crm.http's. The calls needed are a few
JSON requests: owners, pipelines, properties, search, batch read (with propertiesWithHistory), the v4
association batch read and the archived listing.

The objects the mapping's `object:` entries name (crm/hubspot.yml):
- `owners` (reps): active and archived owners; an archived owner is an inactive rep. Read whole every run.
- `pipelines` (stages): every deal pipeline's stages, one page (the stage set is replaced as a whole).
- `companies` (accounts), `deals` (opportunities): CRM search on hs_lastmodifieddate, keyset-paged (below).
  A deal's company is its primary deal-to-company association.
- `deal_history` (opportunity_history): the deals the search finds, read again in batches with
  propertiesWithHistory=dealstage,amount,closedate; one row per distinct change time holding the deal's state at
  that moment, with the id "{deal id}:{epoch ms}", so it is appended once and never rewritten.
- `calls`, `emails`, `meetings`, `notes`, `tasks` (activities): each engagement object's own search on
  hs_lastmodifieddate, so a run reads only the engagements that changed (reading them through each deal's
  associations would read every deal's list on every run); the deal is the engagement-to-deal association
  (the lowest deal id when there are several).
Deletions: archived deals and engagements, through the archived listing (archivedAt after the watermark).

The search API stops at 10,000 results a query, and its `after` is an offset that a record changing mid-search
throws off by one, so searches are keyset-paged: each page is a new search from the last hs_lastmodifieddate seen
(`_search`).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import requests

from config import CrmSettings
from crm.http import CrmHttp, CrmUnavailable
from crm.records import Page, text_of

OVERLAP = timedelta(minutes=1)
MODIFIED = "hs_lastmodifieddate"
SEARCH_CEILING = 10_000  # results one search query can page through
SEARCH_PAGE = 200  # most results a search page holds
BATCH = 100  # inputs of a batch read
HISTORY_BATCH = 50  # inputs of a batch read with propertiesWithHistory
TRACKED = ("dealstage", "amount", "closedate")
ENGAGEMENTS = ("calls", "emails", "meetings", "notes", "tasks")
SEARCHED = ("companies", "deals", *ENGAGEMENTS)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Fields the connector computes (not HubSpot properties), per object.
COMPUTED = {
    "owners": {"Id", "email", "firstName", "lastName", "active", "team", "userId"},
    "pipelines": {"Id", "label", "position", "probability", "closed", "won"},
    "companies": {"Id"},
    "deals": {"Id", "company_id", "stage_label", "stage_probability"},
    "deal_history": {"Id", "deal_id", "changed_at", "stage_label", "stage_probability", "amount", "closedate"},
    **{name: {"Id", "deal_id"} for name in ENGAGEMENTS},
}


@dataclass(frozen=True)
class Stage:
    name: str
    position: int
    probability: int  # percent
    closed: bool
    won: bool


class HubSpotConnector:
    name = "hubspot"
    full_objects = frozenset({"owners", "pipelines"})
    deletable = ("deals", *ENGAGEMENTS)
    optional: frozenset[str] = frozenset()
    derived: dict[str, dict[str, tuple[str, ...]]] = {}  # computed fields are reported by fields() itself

    def __init__(self, settings: CrmSettings, http: CrmHttp | None = None, ceiling: int = SEARCH_CEILING,
                 page_size: int = SEARCH_PAGE):
        if not settings.hubspot_access_token:
            raise CrmUnavailable("HUBSPOT_ACCESS_TOKEN is not set (a private app's access token).")
        self.base = settings.hubspot_api_url.rstrip("/")
        self.token = settings.hubspot_access_token
        self.http = http or CrmHttp()
        self.http.wait_hint = _rate_limit_wait
        self.ceiling, self.page_size = ceiling, page_size
        self._fields: dict[str, set[str] | None] = {}
        self._stages: dict[str, Stage] | None = None

    # --- HTTP ------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, what: str, **kwargs) -> dict:
        resp = self.http.request(method, f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}"},
                                 **kwargs)
        self._pace(resp)
        if resp.status_code in (200, 207):
            return resp.json()
        if resp.status_code == 401:
            raise CrmUnavailable("HubSpot refused the access token (401); check HUBSPOT_ACCESS_TOKEN (the private "
                                 "app's token, Settings > Integrations > Private Apps).")
        body = _json(resp)
        if resp.status_code == 403 and body.get("category") == "MISSING_SCOPES":
            scopes = sorted({s for e in body.get("errors", []) for s in
                             (e.get("context") or {}).get("requiredGranularScopes", [])})
            raise CrmUnavailable(f"HubSpot's private app may not read {what}: give it the scope "
                                 f"{' or '.join(scopes) or 'that covers it'} (README, \"Connecting your CRM\").")
        raise CrmUnavailable(f"HubSpot refused {what} ({resp.status_code}: {body.get('message') or resp.text[:200]}).")

    def check_sign_in(self) -> None:
        """`bot.py doctor`: one owner, to see that HubSpot takes the token; CrmUnavailable with the reason if not."""
        self._call("GET", "/crm/v3/owners", "the owners", params={"limit": 1})

    def _pace(self, resp: requests.Response) -> None:
        """The ten-second window: when HubSpot says none of it is left, wait it out before the next call."""
        if resp.headers.get("X-HubSpot-RateLimit-Remaining") == "0":
            interval = resp.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
            with contextlib.suppress(ValueError):
                self.http.sleep(min(int(interval), 60_000) / 1000)

    # --- what the org has ------------------------------------------------------------------------------

    def fields(self, obj: str) -> set[str] | None:
        """The object's fields (its properties and the fields computed here), or None when it is not a HubSpot
        object this connector reads."""
        if obj not in self._fields:
            if obj == "pipelines":
                self.stages()  # (their scope is the deals' one; a refusal names it)
            if obj in SEARCHED:
                body = self._call("GET", f"/crm/v3/properties/{obj}", f"the {obj} properties")
                self._fields[obj] = {p["name"] for p in body.get("results", [])} | COMPUTED[obj]
            else:
                self._fields[obj] = COMPUTED.get(obj)
        return self._fields[obj]

    def stages(self) -> dict[str, Stage]:
        """Stage id -> stage, over every deal pipeline. A label shared by stages that mean different things
        (closed, won, probability) is qualified by its pipeline's label; one that means the same is one stage."""
        if self._stages is None:
            body = self._call("GET", "/crm/v3/pipelines/deals", "the deal pipelines")
            found = []
            for pipeline in sorted((p for p in body.get("results", []) if not p.get("archived")),
                                   key=lambda p: (p.get("displayOrder", 0), p.get("label", ""))):
                for s in sorted((s for s in pipeline.get("stages", []) if not s.get("archived")),
                                key=lambda s: s.get("displayOrder", 0)):
                    meta = s.get("metadata") or {}
                    closed = str(meta.get("isClosed", "false")).lower() == "true"
                    try:
                        chance = Decimal(str(meta.get("probability") or "0"))
                    except InvalidOperation:
                        chance = Decimal(0)
                    percent = int((chance * 100).to_integral_value(ROUND_HALF_UP))
                    found.append((pipeline.get("label", ""), s["id"], s.get("label") or s["id"], percent, closed,
                                  closed and chance == 1))
            meanings = defaultdict(set)
            for _, _, label, *meaning in found:
                meanings[label.casefold()].add(tuple(meaning))
            self._stages, positions = {}, {}
            for pipeline_label, stage_id, label, percent, closed, won in found:
                name = label if len(meanings[label.casefold()]) == 1 else f"{pipeline_label}: {label}"
                position = positions.setdefault(name.casefold(), len(positions) + 1)
                self._stages[stage_id] = Stage(name, position, percent, closed, won)
        return self._stages

    # --- reading ---------------------------------------------------------------------------------------

    def read(self, obj: str, fields: list[str], since: datetime | None) -> Iterator[Page]:
        if obj == "owners":
            yield Page(self._owners(), None)
        elif obj == "pipelines":
            yield Page(self._pipeline_stages(), None)
        elif obj == "deal_history":
            for results in self._search("deals", [MODIFIED], since):
                yield Page(self._history([r["id"] for r in results]), _latest(results))
        elif obj in SEARCHED:
            for results in self._search(obj, self._properties(obj, fields), since):
                yield Page(self._records(obj, results), _latest(results))

    def read_ids(self, obj: str, fields: list[str], ids: list[str]) -> Iterator[Page]:
        """Records an earlier run rejected, read again by id (objects read whole were read again already)."""
        if obj == "deal_history":
            deal_ids = list(dict.fromkeys(i.split(":", 1)[0] for i in ids))
            for i in range(0, len(deal_ids), HISTORY_BATCH):
                yield Page(self._history(deal_ids[i:i + HISTORY_BATCH]), None)
        elif obj in SEARCHED:
            properties = self._properties(obj, fields)
            for i in range(0, len(ids), BATCH):
                body = self._call("POST", f"/crm/v3/objects/{obj}/batch/read", f"the {obj}",
                                  json={"inputs": [{"id": x} for x in ids[i:i + BATCH]], "properties": properties})
                yield Page(self._records(obj, body.get("results", [])), None)

    def deleted(self, obj: str, since: datetime | None) -> Iterator[Page]:
        floor = None if since is None else since - OVERLAP
        after = None
        while True:
            params = {"archived": "true", "limit": 100, **({"after": after} if after else {})}
            body = self._call("GET", f"/crm/v3/objects/{obj}", f"the archived {obj}", params=params)
            gone = [(r["id"], _parse_time(r.get("archivedAt") or r.get("updatedAt"))) for r in body.get("results", [])]
            gone = [(i, at) for i, at in gone if floor is None or at is None or at > floor]
            yield Page([{"Id": i} for i, _ in gone], max((at for _, at in gone if at), default=None))
            after = _next(body)
            if not after:
                return

    # --- objects ---------------------------------------------------------------------------------------

    def _owners(self) -> list[dict[str, str]]:
        out = []
        for archived in ("false", "true"):
            after = None
            while True:
                params = {"limit": 100, "archived": archived, **({"after": after} if after else {})}
                body = self._call("GET", "/crm/v3/owners", "the owners", params=params)
                for o in body.get("results", []):
                    teams = o.get("teams") or []
                    team = next((t.get("name") for t in teams if t.get("primary")), None) or \
                        next((t.get("name") for t in teams), None)
                    out.append({"Id": str(o["id"]), "email": text_of(o.get("email")),
                                "firstName": text_of(o.get("firstName")), "lastName": text_of(o.get("lastName")),
                                "active": "false" if archived == "true" else "true", "team": text_of(team),
                                "userId": text_of(o.get("userId"))})
                after = _next(body)
                if not after:
                    break
        return out

    def _pipeline_stages(self) -> list[dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for stage_id, s in self.stages().items():
            out.setdefault(s.name.casefold(), {
                "Id": stage_id, "label": s.name, "position": str(s.position), "probability": str(s.probability),
                "closed": text_of(s.closed), "won": text_of(s.won)})
        return list(out.values())

    def _properties(self, obj: str, fields: list[str]) -> list[str]:
        extra = {"deals": ["dealstage"]}.get(obj, [])
        return list(dict.fromkeys([MODIFIED, *extra, *(f for f in fields if f not in COMPUTED[obj])]))

    def _records(self, obj: str, results: list[dict]) -> list[dict[str, str]]:
        records = [{"Id": str(r["id"]), **{k: text_of(v) for k, v in (r.get("properties") or {}).items()}}
                   for r in results]
        ids = [r["Id"] for r in records]
        if obj == "deals":
            companies = self._associated("deals", "companies", ids)
            stages = self.stages()
            for r in records:
                r["company_id"] = companies.get(r["Id"], "")
                r.update(_stage_fields(stages, r.get("dealstage", "")))
        elif obj in ENGAGEMENTS:
            deals = self._associated(obj, "deals", ids)
            for r in records:
                r["deal_id"] = deals.get(r["Id"], "")
        return records

    def _history(self, deal_ids: list[str]) -> list[dict[str, str]]:
        rows = []
        stages = self.stages()
        for i in range(0, len(deal_ids), HISTORY_BATCH):
            body = self._call("POST", "/crm/v3/objects/deals/batch/read", "the deals' history",
                              json={"inputs": [{"id": x} for x in deal_ids[i:i + HISTORY_BATCH]],
                                    "properties": [MODIFIED], "propertiesWithHistory": list(TRACKED)})
            for deal in body.get("results", []):
                rows += deal_history_rows(str(deal["id"]), deal.get("propertiesWithHistory") or {}, stages)
        return rows

    def _associated(self, from_obj: str, to_obj: str, ids: list[str]) -> dict[str, str]:
        """Record id -> the associated record's id: the one labelled Primary, else the lowest id."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), 1000):
            if not ids[i:i + 1000]:
                continue
            body = self._call("POST", f"/crm/v4/associations/{from_obj}/{to_obj}/batch/read",
                              f"the {from_obj}' {to_obj}", json={"inputs": [{"id": x} for x in ids[i:i + 1000]]})
            for result in body.get("results", []):
                targets = result.get("to") or []
                primary = [t for t in targets if any((a.get("label") or "") == "Primary"
                                                     for a in t.get("associationTypes") or [])]
                if targets:
                    out[str(result["from"]["id"])] = str(min(primary or targets, key=lambda t: int(t["toObjectId"]))
                                                         ["toObjectId"])
        return out

    # --- search, keyset-paged --------------------------------------------------------------------------

    def _search(self, obj: str, properties: list[str], since: datetime | None) -> Iterator[list[dict]]:
        """Pages of results modified since `since` (a minute of overlap), oldest first.

        Each page is a new search from the last modification time seen (GTE it, sorted ascending), the records
        already taken at that very millisecond left out; `after` is not used. `after` is an offset into the
        result set, so a record that changes while the search is paged (its hs_lastmodifieddate moves to now)
        shifts every later record one place down and the next page skips one, which the watermark then leaves
        behind for good. Each search here starts at offset 0, so it never meets the 10,000-result ceiling
        either; only a page whose records all share one millisecond is paged by offset (`_one_millisecond`)."""
        low = None if since is None else _ms(since - OVERLAP)
        taken_at_low: set[str] = set()  # ids already yielded whose modification time is `low`
        while True:
            body = self._search_page(obj, properties, low, None, None)
            results = body.get("results", [])
            fresh = [r for r in results if str(r["id"]) not in taken_at_low]
            if fresh:
                yield fresh
            if not results or (not _next(body) and body.get("total", 0) <= len(results)):
                return  # nothing after this page (a page cut short by the ceiling has no `next`, but a total)
            last = _ms(_modified(results[-1]))
            if last == low:  # a whole page at one millisecond: no later time to start the next page from
                yield from self._one_millisecond(obj, properties, low, taken_at_low | {str(r["id"]) for r in fresh})
                low, taken_at_low = low + 1, set()
                continue
            taken_at_low = {str(r["id"]) for r in results if _ms(_modified(r)) == last}
            low = last

    def _one_millisecond(self, obj: str, properties: list[str], moment: int, taken: set[str]
                         ) -> Iterator[list[dict]]:
        """Every record modified at `moment` not in `taken`, paged by offset; the pass is repeated until it finds
        nothing new (a record that changed meanwhile left the millisecond and shifted the offsets)."""
        while True:
            found_new, after = False, None
            while True:
                if after is not None and int(after) >= self.ceiling:
                    raise CrmUnavailable(f"more than {self.ceiling:,} HubSpot {obj} have one modification time to "
                                         "the millisecond; the search API cannot page through them.")
                body = self._search_page(obj, properties, moment, moment + 1, after)
                fresh = [r for r in body.get("results", []) if str(r["id"]) not in taken]
                if fresh:
                    found_new = True
                    taken |= {str(r["id"]) for r in fresh}
                    yield fresh
                after = _next(body)
                if not after:
                    break
            if not found_new:
                return

    def _search_page(self, obj: str, properties: list[str], low: int | None, high: int | None, after: str | None
                     ) -> dict:
        filters = [{"propertyName": MODIFIED, "operator": op, "value": str(bound)}
                   for op, bound in (("GTE", low), ("LT", high)) if bound is not None]
        body = {"filterGroups": [{"filters": filters}] if filters else [], "properties": properties,
                "limit": self.page_size, "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}]}
        if after:
            body["after"] = after
        return self._call("POST", f"/crm/v3/objects/{obj}/search", f"the {obj} search", json=body)


def deal_history_rows(deal_id: str, history: dict[str, list[dict]], stages: dict[str, Stage]) -> list[dict]:
    """One row per distinct change time of the tracked properties, holding each one's value at that moment."""
    changes = {}
    for prop in TRACKED:
        entries = [(_ms(_parse_time(e["timestamp"])), text_of(e.get("value"))) for e in history.get(prop) or []
                   if e.get("timestamp")]
        changes[prop] = sorted(reversed(entries), key=lambda e: e[0])  # HubSpot lists the newest first
    rows = []
    for moment in sorted({t for entries in changes.values() for t, _ in entries}):
        state = {p: next((v for t, v in reversed(entries) if t <= moment), "") for p, entries in changes.items()}
        rows.append({"Id": f"{deal_id}:{moment}", "deal_id": deal_id, "changed_at": _iso(moment),
                     "amount": state["amount"], "closedate": state["closedate"],
                     **_stage_fields(stages, state["dealstage"])})
    return rows


def _stage_fields(stages: dict[str, Stage], stage_id: str) -> dict[str, str]:
    """The stage's name (the raw id when HubSpot has no such stage: the record is rejected for it) and percent."""
    stage = stages.get(stage_id)
    if stage is None:
        return {"stage_label": stage_id, "stage_probability": ""}
    return {"stage_label": stage.name, "stage_probability": str(stage.probability)}


def _rate_limit_wait(resp: requests.Response) -> float | None:
    """HubSpot's 429 names its window: the ten-second one (wait the window out) or the search API's second."""
    if resp.status_code != 429:
        return None
    policy = str(_json(resp).get("policyName", "")).upper()
    if policy.startswith("TEN_SECONDLY"):
        with contextlib.suppress(ValueError):
            return int(resp.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")) / 1000
    if policy.startswith("SECONDLY"):
        return 1.0
    return None


def _json(resp: requests.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _next(body: dict) -> str | None:
    return ((body.get("paging") or {}).get("next") or {}).get("after")


def _modified(record: dict) -> datetime | None:
    return _parse_time((record.get("properties") or {}).get(MODIFIED))


def _latest(results: list[dict]) -> datetime | None:
    stamps = [_modified(r) for r in results]
    return max((s for s in stamps if s), default=None)


def _parse_time(text: str | None) -> datetime | None:
    """HubSpot's times: ISO 8601 (2026-12-01T15:00:00.123Z) or epoch milliseconds."""
    if not text:
        return None
    text = str(text)
    if text.isdigit():
        return EPOCH + timedelta(milliseconds=int(text))
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _iso(ms: int) -> str:
    return (EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
