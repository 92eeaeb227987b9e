"""`DataError`: what every data loader raises for a source that is missing, malformed or inconsistent."""


class DataError(ValueError):
    """A data source is missing, malformed or inconsistent (the message is one line for the user)."""
