"""The metrics layer: semantic definitions compiled to SQL, periods, scopes, KPIs and rules. No Slack here."""
