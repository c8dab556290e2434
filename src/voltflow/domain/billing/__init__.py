"""Billing's pure domain: the documents a run produces (``documents``), their structured
payment references (``references``)."""
