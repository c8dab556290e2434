"""Jinja2 environments that speak the language of the moment: the console's pages, the mails
and the catalogs' check set theirs up here, alike."""

from __future__ import annotations

from jinja2 import Environment

from voltflow.i18n import markup


def install(env: Environment) -> Environment:
    """``{{ _("...") }}``, ``ngettext``, ``pgettext`` and ``{% trans %}`` in ``env``'s
    templates, translated in the language of the work in hand (a context variable: one set of
    callables serves every request and every mail)."""
    env.add_extension("jinja2.ext.i18n")
    # Whitespace inside {% trans %} blocks is folded, as the extractor folds it into the catalogs.
    env.policies["ext.i18n.trimmed"] = True
    # Jinja's "newstyle" semantics (variables escaped into the translation), with the lookups
    # cached per language (``markup``).
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(
        _=markup.gettext,
        gettext=markup.gettext,
        ngettext=markup.ngettext,
        pgettext=markup.pgettext,
        npgettext=markup.npgettext,
    )
    return env
