"""Billing documents rendered for the people and programs that receive them: e-invoices in
Peppol UBL and their offline validation, next to the PDFs. Each renders a domain ``Document`` as
it is, so that every rendering states the same lines and totals."""
