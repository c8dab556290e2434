"""Voltflow: an open platform to run electric-vehicle charging."""

__version__ = "0.1.0"
