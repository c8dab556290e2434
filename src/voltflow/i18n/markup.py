"""The gettext callables of autoescaped templates (pages and mails).

They keep the semantics of Jinja's "newstyle" gettext — the translation is trusted markup, it is
always a ``%`` format string, and the variables given are escaped into it — but a message is
looked up and made markup once per language rather than on every call: a page says its labels
on every render, and Jinja's own wrappers cost several times the lookup.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from voltflow.i18n import language, translations

# (language, context, message) → the translation as markup, and the text it gives without
# variables (None when it needs some).
_cache: dict[tuple[str, str | None, str], tuple[Markup, Markup | None]] = {}


def _entry(lang: str, context: str | None, message: str) -> tuple[Markup, Markup | None]:
    catalog = translations(lang)
    text = catalog.gettext(message) if context is None else catalog.pgettext(context, message)
    markup = Markup(text)
    try:
        plain: Markup | None = markup % ({"context": context} if context is not None else {})
    except (KeyError, TypeError, ValueError):
        plain = None
    entry = _cache[(lang, context, message)] = (markup, plain)
    return entry


def gettext(message: str, /, **variables: Any) -> Markup:
    lang = language()
    entry = _cache.get((lang, None, message)) or _entry(lang, None, message)
    if not variables and entry[1] is not None:
        return entry[1]
    return entry[0] % variables


def pgettext(context: str, message: str, /, **variables: Any) -> Markup:
    lang = language()
    entry = _cache.get((lang, context, message)) or _entry(lang, context, message)
    if not variables and entry[1] is not None:
        return entry[1]
    variables.setdefault("context", context)
    return entry[0] % variables


def ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> Markup:
    variables.setdefault("num", num)
    return Markup(translations(language()).ngettext(singular, plural, num)) % variables


def npgettext(context: str, singular: str, plural: str, num: int, /, **variables: Any) -> Markup:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    text = str(translations(language()).npgettext(context, singular, plural, num))
    return Markup(text) % variables


def clear() -> None:
    _cache.clear()


# -- for templates without autoescape (plain-text mails): the same, as plain text --------------
def text_gettext(message: str, /, **variables: Any) -> str:
    return translations(language()).gettext(message) % variables


def text_pgettext(context: str, message: str, /, **variables: Any) -> str:
    variables.setdefault("context", context)
    return str(translations(language()).pgettext(context, message)) % variables


def text_ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    return translations(language()).ngettext(singular, plural, num) % variables


def text_npgettext(context: str, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    return str(translations(language()).npgettext(context, singular, plural, num)) % variables
