"""Slack listeners, split by kind; each subpackage exposes register(app)."""
