"""E-mail: mails rendered in their recipient's language (``render``), and the SMTP adapter that
sends them (``smtp``). Queuing them with the change that causes them, and sending them from
the outbox, is ``voltflow.services.mail``'s."""
