"""Billing documents rendered for the people and programs that receive them: PDFs in the
recipient's language (``pdf``), e-invoices in Peppol UBL (``ubl``) and their offline validation
(``peppol``). Each renders a domain ``Document`` as it is, so that every rendering states the
same lines and totals."""
