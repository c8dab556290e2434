"""The ``voltflow`` command."""
