"""Billing's pure domain: the documents a run produces (``documents``), their structured
payment references (``references``), and the money that settles them (``payments``: direct
debits, payouts, and bank credits matched to documents)."""
