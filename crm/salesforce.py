"""Salesforce connector: REST API over plain HTTP (`requests`), read-only.

Why not simple-salesforce: it always builds `https://{instance}` URLs, and the bot must honour the scheme and
port of every URL it is given (a local test server on http://127.0.0.1:PORT, a proxy). The REST calls needed
here are few: the OAuth token endpoint, `query`/`queryAll` with `nextRecordsUrl` paging, and `describe`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import jwt

from config import CrmSettings
from crm.http import CrmHttp, CrmUnavailable
from crm.records import Page, flatten, text_of

OVERLAP = timedelta(minutes=1)
MODSTAMP = "SystemModstamp"
OPPORTUNITY_PREFIX = "006"


class SalesforceConnector:
    name = "salesforce"
    # Objects read whole on every run: small, and the stage set is replaced as a whole; a dated rate's
    # NextStartDate moves when a later rate is added, which its SystemModstamp need not show.
    full_objects = frozenset({"OpportunityStage", "DatedConversionRate"})
    # Objects an org may lack (a sync skips them with a note; `doctor` does not call their absence a problem).
    optional = frozenset({"ForecastingQuota", "DatedConversionRate"})
    # Objects whose deletions are read back through queryAll.
    deletable = ("Opportunity", "Task", "Event")
    # Fields `_normalise` derives, and the stored fields each is derived from (any one present will do).
    derived = {
        "Task": {"OpportunityId": ("WhatId",), "OccurredAt": ("ActivityDate", "CreatedDate")},
        "Event": {"OpportunityId": ("WhatId",), "OccurredAt": ("ActivityDateTime", "ActivityDate", "CreatedDate")},
        "ForecastingQuota": {"EndDate": ("StartDate",)},
        "DatedConversionRate": {"ValidTo": ("NextStartDate",)},
    }

    def __init__(self, settings: CrmSettings, http: CrmHttp | None = None):
        self.settings = settings
        self.http = http or CrmHttp()
        self.instance_url = settings.salesforce_instance_url
        self.token = settings.salesforce_access_token
        self.refreshes = 0
        self._described: dict[str, set[str] | None] = {}
        if not self.instance_url and not settings.salesforce_username:
            raise CrmUnavailable("SALESFORCE_INSTANCE_URL is not set (e.g. https://yourorg.my.salesforce.com).")

    # --- auth ------------------------------------------------------------------------------------------

    def _authenticate(self) -> None:
        s = self.settings
        if s.salesforce_username and s.salesforce_private_key_file:
            url, data = f"{s.salesforce_login_url}/services/oauth2/token", {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": self._assertion()}
            fix = ("check SALESFORCE_CLIENT_ID, SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE (the key of the "
                   "certificate uploaded to the connected app) and that the user's profile is pre-authorised")
        elif s.salesforce_client_id and s.salesforce_client_secret:
            url, data = f"{self.instance_url}/services/oauth2/token", {
                "grant_type": "client_credentials", "client_id": s.salesforce_client_id,
                "client_secret": s.salesforce_client_secret}
            fix = ("check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (the connected app's consumer key and "
                   "secret) and that its Client Credentials Flow is enabled with a Run As user")
        else:
            raise CrmUnavailable("Salesforce refused the access token and there is no way to get a new one: set "
                                 "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (or the JWT settings).")
        resp = self.http.request("POST", url, data=data)
        if resp.status_code != 200:
            raise CrmUnavailable(f"Salesforce refused to sign in ({resp.status_code}: {_error_text(resp)}); {fix}.")
        body = resp.json()
        self.token = body["access_token"]
        self.instance_url = (body.get("instance_url") or self.instance_url).rstrip("/")

    def check_sign_in(self) -> None:
        """`bot.py doctor`: a token request (or, with only an access token, one GET with it); CrmUnavailable with
        the reason when Salesforce refuses."""
        s = self.settings
        if (s.salesforce_username and s.salesforce_private_key_file) or (s.salesforce_client_id
                                                                         and s.salesforce_client_secret):
            self._authenticate()
            return
        resp = self._get(f"{self._api}/limits")
        if resp.status_code != 200:
            raise CrmUnavailable(f"Salesforce refused SALESFORCE_ACCESS_TOKEN ({resp.status_code}: "
                                 f"{_error_text(resp)}); set a fresh token or the connected app's client id and "
                                 "secret.")

    def _assertion(self) -> str:
        s = self.settings
        try:
            key = Path(s.salesforce_private_key_file).read_text()
        except OSError as exc:
            raise CrmUnavailable(f"SALESFORCE_PRIVATE_KEY_FILE cannot be read ({exc.strerror}).") from None
        claims = {"iss": s.salesforce_client_id, "sub": s.salesforce_username, "aud": s.salesforce_login_url,
                  "exp": int(time.time()) + 180}
        return jwt.encode(claims, key, algorithm="RS256")

    def _get(self, path_or_url: str, params: dict | None = None):
        """GET with the token; a 401 (expired session) gets one new token and one retry."""
        if not self.token:
            self._authenticate()
        for attempt in (0, 1):
            url = path_or_url if path_or_url.startswith("http") else f"{self.instance_url}{path_or_url}"
            resp = self.http.request("GET", url, params=params, headers={"Authorization": f"Bearer {self.token}"})
            if resp.status_code == 401 and attempt == 0:
                self.refreshes += 1
                self._authenticate()
                continue
            return resp
        raise AssertionError("unreachable")

    @property
    def _api(self) -> str:
        return f"/services/data/{self.settings.salesforce_api_version}"

    # --- reading ---------------------------------------------------------------------------------------

    def fields(self, obj: str) -> set[str] | None:
        """The object's field names, or None when the org does not have the object."""
        if obj not in self._described:
            resp = self._get(f"{self._api}/sobjects/{obj}/describe")
            if resp.status_code == 404:
                self._described[obj] = None
            elif resp.status_code != 200:
                raise CrmUnavailable(f"Salesforce could not describe {obj} ({resp.status_code}: {_error_text(resp)}).")
            else:
                self._described[obj] = {f["name"] for f in resp.json()["fields"]}
        return self._described[obj]

    def read(self, obj: str, fields: list[str], since: datetime | None) -> Iterator[Page]:
        where = "" if since is None else f" WHERE {MODSTAMP} > {_soql_time(since - OVERLAP)}"
        select = ", ".join(dict.fromkeys(["Id", MODSTAMP, *fields]))
        soql = f"SELECT {select} FROM {obj}{where} ORDER BY {MODSTAMP}, Id"
        yield from self._pages("query", soql, obj)

    def read_ids(self, obj: str, fields: list[str], ids: list[str]) -> Iterator[Page]:
        """The given records again (those a sync rejected), 200 to a query."""
        select = ", ".join(dict.fromkeys(["Id", MODSTAMP, *fields]))
        for i in range(0, len(ids), 200):
            quoted = ", ".join("'" + record_id.replace("'", "") + "'" for record_id in ids[i:i + 200])
            yield from self._pages("query", f"SELECT {select} FROM {obj} WHERE Id IN ({quoted})", obj)

    def deleted(self, obj: str, since: datetime | None) -> Iterator[Page]:
        after = "" if since is None else f" AND {MODSTAMP} > {_soql_time(since - OVERLAP)}"
        soql = f"SELECT Id, {MODSTAMP} FROM {obj} WHERE IsDeleted = true{after} ORDER BY {MODSTAMP}, Id"
        yield from self._pages("queryAll", soql, obj)

    def _pages(self, endpoint: str, soql: str, obj: str) -> Iterator[Page]:
        resp = self._get(f"{self._api}/{endpoint}", params={"q": soql})
        while True:
            if resp.status_code != 200:
                raise CrmUnavailable(f"Salesforce refused the {obj} query ({resp.status_code}: {_error_text(resp)}).")
            body = resp.json(parse_float=Decimal)
            records = [self._normalise(obj, flatten(r)) for r in body.get("records", [])]
            stamps = [r[MODSTAMP] for r in records if r.get(MODSTAMP)]
            yield Page(records, max((_parse_time(s) for s in stamps), default=None))
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                return
            resp = self._get(next_url)

    def _normalise(self, obj: str, record: dict) -> dict[str, str]:
        """Text values, plus the few fields Salesforce does not store in the shape the mapping needs."""
        out = {k: text_of(v) for k, v in record.items()}
        if obj in ("Task", "Event"):
            what = out.get("WhatId", "")
            out["OpportunityId"] = what if what.startswith(OPPORTUNITY_PREFIX) else ""
            out["OccurredAt"] = out.get("ActivityDateTime") or out.get("ActivityDate") or out.get("CreatedDate", "")
        if obj == "DatedConversionRate":
            out["ValidTo"] = _day_before(out.get("NextStartDate", ""))
        if obj == "ForecastingQuota" and out.get("StartDate"):
            start = datetime.fromisoformat(out["StartDate"]).date()
            month = start.month + 3
            end = start.replace(year=start.year + (month - 1) // 12, month=(month - 1) % 12 + 1) - timedelta(days=1)
            out["EndDate"] = end.isoformat()
        return out


def _day_before(text: str) -> str:
    """The last day of a dated rate: the day before the next one starts; none for the last (9999-12-31)."""
    if not text or text >= "9999-12-31":
        return ""
    return (datetime.fromisoformat(text[:10]).date() - timedelta(days=1)).isoformat()


def _soql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _error_text(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return f"{body[0].get('errorCode', '')} {body[0].get('message', '')}".strip()
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body)[:200]
    return str(body)[:200]
