"""Button listeners."""

from handlers.actions import alerts, chart, clarify, csv_export, forecast_call, open_crm, share


def register(app, deps) -> None:
    share.register(app, deps)
    chart.register(app, deps)
    csv_export.register(app, deps)
    open_crm.register(app, deps)
    alerts.register(app, deps)
    clarify.register(app, deps)
    forecast_call.register(app, deps)
