"""“Open in CRM” is a link button; Slack still sends the click, which only needs an ack."""


def register(app, deps) -> None:
    @app.action("sales_open_crm")
    def open_crm(ack):
        ack()
