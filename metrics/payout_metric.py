"""The `payout` and `payout_projected` metrics: each rep's estimated payout under the comp plans (metrics.payout),
declared in metrics.special beside the other metrics that are not one GROUP BY."""

from __future__ import annotations

from decimal import Decimal

from metrics.payout import RepPayout, payouts

RATIO = Decimal("0.0001")


def payout_row(rep: RepPayout, with_owner: bool) -> dict:
    row = {"owner": rep.name} if with_owner else {}
    row.update(value=rep.value, attainment=None if rep.attainment is None else rep.attainment.quantize(RATIO),
               credited=rep.credited, quota=rep.quota, plan=" → ".join(rep.plans) or None, spiffs=rep.spiffs,
               note=rep.note)
    return row


def total_row(reps: list[RepPayout]) -> dict:
    paid = [r.value for r in reps if r.value is not None]
    return {"value": sum(paid, Decimal(0)) if paid else None,
            "credited": sum((r.credited for r in reps if r.credited is not None), Decimal(0)),
            "spiffs": sum((r.spiffs for r in reps), Decimal(0)), "reps": len(reps),
            "without_plan": sum(1 for r in reps if not r.plans)}


def _run(projected: bool):
    def run(conn, ctx, period, scope, dims, today, cache, run_query):
        reps = payouts(conn, period, scope.member_ids(conn), today=today, fiscal=ctx.fiscal_start_month,
                       projected=projected, cache=cache, by_deal=False)
        if dims or scope.kind == "rep":
            return [], [payout_row(r, bool(dims)) for r in reps]
        return [], [total_row(reps)]

    return run


run_payout = _run(False)
run_payout_projected = _run(True)
