"""Button listeners."""

from handlers.actions import alerts, chart, csv_export, open_crm, share


def register(app, deps) -> None:
    share.register(app, deps)
    chart.register(app, deps)
    csv_export.register(app, deps)
    open_crm.register(app, deps)
    alerts.register(app, deps)
