"""Errors a person can act on. Their message is a full sentence shown as is; everything else is a bug."""


class UserError(Exception):
    """Bad input or a state the user can fix; the message says what and, where useful, how."""


class NotAvailableYet(UserError):
    """A CLI subcommand whose feature has not been built yet."""

    exit_code = 2


class DataSourceUnavailable(UserError):
    """The sales database cannot be reached."""
