"""A fake Salesforce REST API: OAuth token endpoint (client credentials, JWT bearer), query / queryAll with
nextRecordsUrl paging, sobject describe; records the tests add, change and delete; faults to inject."""

from __future__ import annotations

import itertools
import time
import urllib.parse
from datetime import UTC, datetime

import jwt

from tests.fakecrm import soql
from tests.fakecrm.server import FakeCrmServer

VERSION = "v62.0"
TRACKED = ("StageName", "Amount", "CloseDate", "Probability", "ForecastCategoryName")
FIELDS = {
    "OpportunityStage": ["Id", "MasterLabel", "SortOrder", "DefaultProbability", "ForecastCategoryName", "IsClosed",
                         "IsWon", "IsActive", "SystemModstamp"],
    "User": ["Id", "Name", "Email", "ManagerId", "IsActive", "TimeZoneSidKey", "SystemModstamp"],
    "Account": ["Id", "Name", "Industry", "OwnerId", "CreatedDate", "SystemModstamp"],
    "Opportunity": ["Id", "Name", "AccountId", "OwnerId", "StageName", "Amount", "Probability",
                    "ForecastCategoryName", "CloseDate", "CreatedDate", "NextStep", "LeadSource", "Type",
                    "LastActivityDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"],
    "OpportunityHistory": ["Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "CloseDate", "Probability",
                           "ForecastCategory", "SystemModstamp"],
    "Task": ["Id", "WhatId", "OwnerId", "TaskSubtype", "Subject", "ActivityDate", "CreatedDate", "SystemModstamp",
             "IsDeleted"],
    "Event": ["Id", "WhatId", "OwnerId", "Subject", "ActivityDateTime", "ActivityDate", "CreatedDate",
              "SystemModstamp", "IsDeleted"],
}
# What an org with multiple currencies and advanced currency management adds: a currency on every opportunity, and
# dated exchange rates (each valid from StartDate up to the day before NextStartDate; the last one until 9999-12-31).
MULTI_CURRENCY_FIELDS = {
    "DatedConversionRate": ["Id", "IsoCode", "ConversionRate", "StartDate", "NextStartDate", "SystemModstamp"],
}
PREFIX = {"DatedConversionRate": "04w", "User": "005",
          "Account": "001", "Opportunity": "006", "OpportunityHistory": "008", "Task": "00T",
          "Event": "00U", "OpportunityStage": "01J", "ForecastingQuota": "0J9"}


def sf_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeSalesforce(FakeCrmServer):
    def __init__(self, page_size: int = 2000, client_id: str = "cid", client_secret: str = "secret",
                 public_key: bytes | None = None, username: str = "sync@example.com", multi_currency: bool = False):
        super().__init__()
        self.page_size = page_size
        self.client_id, self.client_secret, self.public_key, self.username = (client_id, client_secret, public_key,
                                                                              username)
        fields = {**FIELDS, **(MULTI_CURRENCY_FIELDS if multi_currency else {})}
        self.objects: dict[str, dict[str, dict]] = {name: {} for name in fields}
        self.fields = {name: list(f) for name, f in fields.items()}
        if multi_currency:
            self.fields["Opportunity"].append("CurrencyIsoCode")
        self.valid_tokens: set[str] = set()
        self.delay = 0.0
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.tokens_issued = 0
        self._cursors: dict[str, list[dict]] = {}
        self._ids = itertools.count(1)

    def env(self, **extra: str) -> dict[str, str]:
        return {"SALESFORCE_INSTANCE_URL": self.url, "SALESFORCE_CLIENT_ID": self.client_id,
                "SALESFORCE_CLIENT_SECRET": self.client_secret, **extra}

    # --- data ------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.tick()

    def new_id(self, obj: str) -> str:
        return f"{PREFIX[obj]}{next(self._ids):015d}"

    def add(self, obj: str, **fields) -> str:
        with self._lock:
            stamp = self.now()
            record = {name: None for name in self.fields[obj]}
            record.update(Id=fields.pop("Id", None) or self.new_id(obj), SystemModstamp=sf_time(stamp))
            if "IsDeleted" in record:
                record["IsDeleted"] = False
            if "CreatedDate" in record and not fields.get("CreatedDate"):
                record["CreatedDate"] = sf_time(stamp)
            if "LastModifiedDate" in record:
                record["LastModifiedDate"] = sf_time(stamp)
            record.update(fields)
            self.objects[obj][record["Id"]] = record
            if obj == "Opportunity":
                self._history(record, record["CreatedDate"])
            if obj in ("Task", "Event"):
                self._touch_activity(record)
            return record["Id"]

    def _touch_activity(self, activity: dict) -> None:
        """Salesforce keeps Opportunity.LastActivityDate (a system field; SystemModstamp does not move)."""
        opp = self.objects["Opportunity"].get(activity.get("WhatId") or "")
        day = (activity.get("ActivityDate") or (activity.get("ActivityDateTime") or "")[:10]
               or activity["CreatedDate"][:10])
        if opp is not None and (opp.get("LastActivityDate") or "") < day:
            opp["LastActivityDate"] = day

    def update(self, obj: str, record_id: str, **fields) -> None:
        with self._lock:
            record = self.objects[obj][record_id]
            before = {f: record.get(f) for f in TRACKED}
            stamp = sf_time(self.now())
            record.update(fields, SystemModstamp=stamp)
            if "LastModifiedDate" in record:
                record["LastModifiedDate"] = stamp
            if obj == "Opportunity" and any(record.get(f) != v for f, v in before.items()):
                self._history(record, stamp)

    def delete(self, obj: str, record_id: str) -> None:
        with self._lock:
            record = self.objects[obj][record_id]
            record.update(IsDeleted=True, SystemModstamp=sf_time(self.now()))
            if obj == "Opportunity":
                for h in self.objects["OpportunityHistory"].values():
                    if h["OpportunityId"] == record_id:
                        h["IsDeleted"] = True

    def _history(self, opp: dict, when: str) -> None:
        hid = self.new_id("OpportunityHistory")
        self.objects["OpportunityHistory"][hid] = {
            "Id": hid, "OpportunityId": opp["Id"], "CreatedDate": when, "StageName": opp["StageName"],
            "Amount": opp["Amount"], "CloseDate": opp["CloseDate"], "Probability": opp["Probability"],
            "ForecastCategory": opp["ForecastCategoryName"], "SystemModstamp": when}

    def live(self, obj: str) -> list[dict]:
        """The records a user of the org sees (not deleted)."""
        return [r for r in self.objects[obj].values() if not r.get("IsDeleted")]

    # --- faults ----------------------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    # --- serving ---------------------------------------------------------------------------------------

    @staticmethod
    def read_body(raw: bytes) -> dict:
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}

    def handle(self, method: str, path: str, form: dict, headers) -> tuple[int, object, dict]:
        self.requests.append((method, path))
        if self.delay:
            time.sleep(self.delay)
        url = urllib.parse.urlsplit(path)
        if url.path == "/services/oauth2/token":
            if f := self._fault("token"):
                return f.status, f.body or {"error": "unavailable"}, {}
            return self._token(form)
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], {}
        api = f"/services/data/{VERSION}/"
        if not url.path.startswith(api):
            return 404, [{"errorCode": "NOT_FOUND", "message": url.path}], {}
        rest = url.path[len(api):]
        kind = "describe" if rest.startswith("sobjects/") else "query"
        if f := self._fault(kind):
            extra = {"Retry-After": f.retry_after} if f.retry_after else {}
            return f.status, f.body or [{"errorCode": "SERVER_ERROR", "message": "injected"}], extra
        if rest.startswith("sobjects/") and rest.endswith("/describe"):
            obj = rest.split("/")[1]
            if obj not in self.fields:
                return 404, [{"errorCode": "NOT_FOUND", "message": f"sObject type '{obj}' is not supported."}], {}
            return 200, {"name": obj, "fields": [{"name": n} for n in self.fields[obj]]}, {}
        if rest in ("query", "queryAll"):
            q = urllib.parse.parse_qs(url.query).get("q", [""])[0]
            return self._query(q, include_deleted=rest == "queryAll")
        if rest.startswith("query/"):
            return self._next(rest.split("/", 1)[1])
        return 404, [{"errorCode": "NOT_FOUND", "message": rest}], {}

    def _token(self, form: dict) -> tuple[int, object, dict]:
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
                return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}, {}
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            try:
                claims = jwt.decode(form.get("assertion", ""), self.public_key, algorithms=["RS256"],
                                    audience=self.url)
            except jwt.PyJWTError as exc:
                return 400, {"error": "invalid_grant", "error_description": str(exc)}, {}
            if claims.get("iss") != self.client_id or claims.get("sub") != self.username:
                return 400, {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}, {}
        else:
            return 400, {"error": "unsupported_grant_type"}, {}
        with self._lock:
            self.tokens_issued += 1
            token = f"00Dfake!{self.tokens_issued}"
            self.valid_tokens.add(token)
        return 200, {"access_token": token, "instance_url": self.url, "token_type": "Bearer"}, {}

    def _query(self, text: str, include_deleted: bool) -> tuple[int, object, dict]:
        try:
            q = soql.parse(text)
        except soql.SoqlError as exc:
            return 400, [{"errorCode": "MALFORMED_QUERY", "message": str(exc)}], {}
        if q.obj not in self.objects:
            return 400, [{"errorCode": "INVALID_TYPE", "message": f"sObject type '{q.obj}' is not supported"}], {}
        unknown = [f for f in q.fields if f not in self.fields[q.obj]]
        if unknown:
            return 400, [{"errorCode": "INVALID_FIELD", "message": f"No such column '{unknown[0]}'"}], {}
        with self._lock:  # the result is a snapshot of the selected values, as Salesforce's query cursor is
            rows = [r for r in self.objects[q.obj].values()
                    if (include_deleted or not r.get("IsDeleted")) and soql.matches(r, q.conditions)]
            for name in reversed(q.order):
                rows.sort(key=lambda r, n=name: (r.get(n) is None, str(r.get(n))))
            if q.limit is not None:
                rows = rows[:q.limit]
            values = [tuple(r.get(f) for f in q.fields) for r in rows]
        cursor = f"01g{next(self._ids):015d}"
        self._cursors[cursor] = (q.obj, q.fields, values)
        return self._next(f"{cursor}-0")

    def _next(self, locator: str) -> tuple[int, object, dict]:
        cursor, _, offset = locator.rpartition("-")
        found = self._cursors.get(cursor)
        if found is None:
            return 400, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}], {}
        obj, fields, rows = found
        start = int(offset)
        page = [dict(zip(fields, values, strict=True)) for values in rows[start:start + self.page_size]]
        page = [{"attributes": {"type": obj, "url": f"/services/data/{VERSION}/sobjects/{obj}/{r.get('Id')}"}, **r}
                for r in page]
        done = start + self.page_size >= len(rows)
        body = {"totalSize": len(rows), "done": done, "records": page}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{cursor}-{start + self.page_size}"
        return 200, body, {}

