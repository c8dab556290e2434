"""Jinja2 environments that speak the language of the moment: the console's pages, the mails
and the catalogs' check set theirs up here, alike."""

from __future__ import annotations

from jinja2 import Environment

from voltflow.i18n import gettext, markup, ngettext, npgettext, pgettext


def install(env: Environment) -> Environment:
    """``{{ _("...") }}``, ``ngettext``, ``pgettext`` and ``{% trans %}`` in ``env``'s
    templates, translated in the language of the work in hand (a context variable: one set of
    callables serves every request and every mail)."""
    env.add_extension("jinja2.ext.i18n")
    # Whitespace inside {% trans %} blocks is folded, as the extractor folds it into the catalogs.
    env.policies["ext.i18n.trimmed"] = True
    # Jinja's "newstyle" semantics: the translation is a format string; in an autoescaped
    # environment it is trusted markup and the variables are escaped into it (with the lookups
    # cached per language), in a plain-text one (text mails) nothing is escaped.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    if env.autoescape is True:
        env.globals.update(
            _=markup.gettext,
            gettext=markup.gettext,
            ngettext=markup.ngettext,
            pgettext=markup.pgettext,
            npgettext=markup.npgettext,
        )
    elif env.autoescape is False:
        env.globals.update(
            _=markup.text_gettext,
            gettext=markup.text_gettext,
            ngettext=markup.text_ngettext,
            pgettext=markup.text_pgettext,
            npgettext=markup.text_npgettext,
        )
    else:  # escaping chosen per template: Jinja's own callables, which ask the template
        env.install_gettext_callables(  # type: ignore[attr-defined]
            gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
        )
    return env
