"""A generated Salesforce org for the fake: stages, users in a manager tree, accounts, opportunities that move
through stages (each change a history row, as Salesforce writes them), tasks and events."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tests.fakecrm.salesforce import FakeSalesforce, sf_time

STAGES = [  # (label, sort order, probability, forecast category, closed, won)
    ("Prospecting", 1, 10, "Pipeline", False, False),
    ("Qualification", 2, 20, "Pipeline", False, False),
    ("Proposal", 3, 50, "BestCase", False, False),
    ("Negotiation", 4, 80, "Commit", False, False),
    ("Closed Won", 5, 100, "Closed", True, True),
    ("Closed Lost", 6, 0, "Omitted", True, False),
]
TODAY = date(2026, 12, 1)


def seed_org(fake: FakeSalesforce, seed: int = 1, reps: int = 6, deals: int = 60, tasks: int = 40) -> dict:
    rng = random.Random(seed)
    for label, order, prob, category, closed, won in STAGES:
        fake.add("OpportunityStage", MasterLabel=label, SortOrder=order, DefaultProbability=prob,
                 ForecastCategoryName=category, IsClosed=closed, IsWon=won, IsActive=True)
    boss = fake.add("User", Name="Vera Boss", Email="vera.boss@example.com", IsActive=True,
                    TimeZoneSidKey="America/New_York")
    manager = fake.add("User", Name="Mo Manager", Email="mo.manager@example.com", ManagerId=boss, IsActive=True,
                       TimeZoneSidKey="Europe/London")
    users = [fake.add("User", Name=f"Rep {i}", Email=f"rep{i}@example.com", ManagerId=manager, IsActive=True,
                      TimeZoneSidKey="America/Chicago") for i in range(reps)]
    accounts = [fake.add("Account", Name=f"Account {i}", Industry=rng.choice(["Retail", "Tech", "Health"]),
                         OwnerId=rng.choice(users), CreatedDate=sf_time(datetime(2025, 6, 1, tzinfo=UTC)))
                for i in range(max(3, deals // 4))]
    opps = []
    for i in range(deals):
        created = TODAY - timedelta(days=rng.randint(10, 300))
        label, _, prob, category, closed, _ = STAGES[rng.randint(0, 1)]
        oid = fake.add("Opportunity", Name=f"Deal {i}", AccountId=rng.choice(accounts), OwnerId=rng.choice(users),
                       StageName=label, Amount=Decimal(rng.randint(5, 900) * 100) + Decimal(rng.choice(["0", "0.5",
                                                                                                       "0.25"])),
                       Probability=prob, ForecastCategoryName=category,
                       CloseDate=(TODAY + timedelta(days=rng.randint(-90, 120))).isoformat(),
                       CreatedDate=sf_time(datetime.combine(created, datetime.min.time(), UTC)),
                       LeadSource=rng.choice(["Web", "Partner", None]))
        for _ in range(rng.randint(0, 3)):
            label, _, prob, category, closed, _ = STAGES[rng.randint(1, 5)]
            fake.update("Opportunity", oid, StageName=label, Probability=prob, ForecastCategoryName=category,
                        Amount=Decimal(rng.randint(5, 900) * 100))
            if closed:
                break
        opps.append(oid)
    for _ in range(tasks):
        fake.add("Task", WhatId=rng.choice(opps), OwnerId=rng.choice(users), TaskSubtype=rng.choice(["Call", "Email"]),
                 Subject="Touch base", ActivityDate=(TODAY - timedelta(days=rng.randint(0, 60))).isoformat())
    return {"boss": boss, "manager": manager, "users": users, "accounts": accounts, "opps": opps}


def large_org(fake: FakeSalesforce, deals: int, seed: int = 1, now: datetime | None = None) -> dict[str, int]:
    """A big org built as record dicts straight into the fake (`add` is for tests that change a few records):
    about deals/200 reps under managers, deals/4 accounts, 4 history rows and 5 activities (4 tasks, 1 event)
    a deal on average, modification stamps spread over the last 400 days (as in a real org, so an incremental
    sync's minute of overlap re-reads a handful of records, not an object). Returns the count per object."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    start = now - timedelta(days=400)
    for label, order, prob, category, closed, won in STAGES:
        fake.add("OpportunityStage", MasterLabel=label, SortOrder=order, DefaultProbability=prob,
                 ForecastCategoryName=category, IsClosed=closed, IsWon=won, IsActive=True)
    objects = fake.objects
    stamp = sf_time(start)

    def put(obj: str, **fields) -> str:
        record_id = fake.new_id(obj)
        objects[obj][record_id] = {name: None for name in fake.fields[obj]} | {"Id": record_id, **fields}
        return record_id

    boss = put("User", Name="Big Boss", Email="big.boss@example.com", IsActive=True, TimeZoneSidKey="UTC",
               SystemModstamp=stamp)
    reps = max(8, deals // 200)
    managers = [put("User", Name=f"Manager {i}", Email=f"manager{i}@example.com", ManagerId=boss, IsActive=True,
                    TimeZoneSidKey="America/New_York", SystemModstamp=stamp) for i in range(max(1, reps // 8))]
    users = [put("User", Name=f"Rep {i}", Email=f"rep{i}@example.com", ManagerId=managers[i % len(managers)],
                 IsActive=True, TimeZoneSidKey="America/Chicago", SystemModstamp=stamp) for i in range(reps)]
    accounts = [put("Account", Name=f"Account {i}", Industry=rng.choice(("Retail", "Tech", "Health")),
                    OwnerId=rng.choice(users), CreatedDate=stamp, SystemModstamp=sf_time(start + timedelta(seconds=i)))
                for i in range(max(3, deals // 4))]
    for i in range(deals):
        created = start + timedelta(minutes=rng.randrange(0, 300 * 24 * 60))
        steps = rng.randint(1, 7)  # history rows: 4 on average
        close = (created + timedelta(days=rng.randint(20, 200))).date().isoformat()
        oid = fake.new_id("Opportunity")
        owner = rng.choice(users)
        when = created
        row = {}
        for step in range(steps):
            label, _, prob, category, closed, _ = STAGES[min(step, 3)] if step < steps - 1 or steps < 5 else \
                STAGES[rng.choice((4, 5))]
            row = {"StageName": label, "Amount": Decimal(rng.randint(5, 900) * 100), "CloseDate": close,
                   "Probability": prob, "ForecastCategory": category}
            put("OpportunityHistory", OpportunityId=oid, CreatedDate=sf_time(when), SystemModstamp=sf_time(when),
                **row)
            when += timedelta(hours=rng.randint(1, 240))
        modified = sf_time(min(when, now - timedelta(minutes=5)))
        objects["Opportunity"][oid] = {name: None for name in fake.fields["Opportunity"]} | {
            "Id": oid, "Name": f"Deal {i}", "AccountId": rng.choice(accounts), "OwnerId": owner,
            "StageName": row["StageName"], "Amount": row["Amount"], "Probability": row["Probability"],
            "ForecastCategoryName": row["ForecastCategory"], "CloseDate": close, "CreatedDate": sf_time(created),
            "LeadSource": rng.choice(("Web", "Partner", None)), "LastModifiedDate": modified,
            "SystemModstamp": modified, "IsDeleted": False}
        last_activity = None
        for n in range(rng.randint(0, 10)):  # activities: 4 tasks and 1 event a deal on average
            at = min(created + timedelta(minutes=rng.randrange(0, 60 * 24 * 60)), now - timedelta(minutes=5))
            last_activity = max(last_activity or at, at)
            logged = sf_time(at)
            if n % 5 == 4:
                put("Event", WhatId=oid, OwnerId=owner, Subject="Meeting", ActivityDate=at.date().isoformat(),
                    CreatedDate=logged, SystemModstamp=logged, IsDeleted=False)
            else:
                put("Task", WhatId=oid, OwnerId=owner, TaskSubtype=rng.choice(("Call", "Email")), Subject="Touch",
                    ActivityDate=at.date().isoformat(), CreatedDate=logged, SystemModstamp=logged, IsDeleted=False)
        if last_activity:  # Salesforce keeps it on the deal (a system field)
            objects["Opportunity"][oid]["LastActivityDate"] = last_activity.date().isoformat()
    return {obj: len(records) for obj, records in objects.items()}


def change_deals(fake: FakeSalesforce, count: int, seed: int = 2) -> list[str]:
    """Move `count` open deals one stage on with a new amount (each a history row, as Salesforce writes it)."""
    rng = random.Random(seed)
    open_ = [o for o in fake.live("Opportunity") if o["StageName"] in {s[0] for s in STAGES[:3]}]
    moved = rng.sample(open_, min(count, len(open_)))
    for opp in moved:
        label, _, prob, category, _, _ = STAGES[next(i for i, s in enumerate(STAGES) if s[0] == opp["StageName"]) + 1]
        fake.update("Opportunity", opp["Id"], StageName=label, Probability=prob, ForecastCategoryName=category,
                    Amount=Decimal(rng.randint(5, 900) * 100))
    return [o["Id"] for o in moved]
