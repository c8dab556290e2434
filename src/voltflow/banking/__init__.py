"""The bank side of billing, as files: SEPA payment initiations the operator hands its bank
(``sepa``: direct debits under mandates, credit transfers for payouts) and the statements the
bank hands back (``camt``). Both read and write the domain's own values
(``voltflow.domain.billing.payments``), so the billing service never sees XML; neither touches a
database or the network."""
