"""Translations and locale-aware formats for every layer that speaks to people.

English is the source language: messages are written in English in the code and translated
through the gettext catalogs under ``locale/`` (``messages.po`` per language, read as they are:
nothing to compile). The language of the work in hand is a context variable, set once where a
request or a command starts (the console from the person's choice, the API from
``Accept-Language``, the CLI from ``LANG``), so that services translate their messages with the
same ``_()`` the pages use without being handed a language.

The domain imports nothing of Voltflow: its terms (session types, card states, roles) are
translated here, in :mod:`voltflow.i18n.terms`, from the values it defines.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SOURCE = "en"
# The order is the header switch's.
LANGUAGES: tuple[str, ...] = ("nl", "fr", "en")
NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

_language: ContextVar[str] = ContextVar("voltflow_language", default=SOURCE)


def language() -> str:
    """The language of the work in hand."""
    return _language.get()


def set_language(lang: str | None) -> None:
    """For the rest of this context (a request, a command): ``lang``, or English when unknown."""
    _language.set(supported(lang) or SOURCE)


@contextlib.contextmanager
def use(lang: str | None) -> Iterator[None]:
    token = _language.set(supported(lang) or SOURCE)
    try:
        yield
    finally:
        _language.reset(token)


def supported(tag: str | None) -> str | None:
    """``nl-BE``, ``fr_BE.UTF-8``, ``EN`` → the language we speak, or None."""
    if not tag:
        return None
    base = tag.strip().replace("_", "-").split(".", 1)[0].split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def negotiate(accept_language: str | None) -> str | None:
    """The best of our languages for an ``Accept-Language`` header, or None if it names none."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = supported(tag)
        if lang is not None and quality > 0:
            ranked.append((-quality, index, lang))
    return min(ranked)[2] if ranked else None


@cache
def translations(lang: str) -> NullTranslations:
    """The catalog of ``lang`` (English: the messages as written)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    # Fuzzy entries are not translations yet: the check refuses them, and they never show.
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _(message: str) -> str:
    return translations(_language.get()).gettext(message)


gettext = _


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(_language.get()).pgettext(context, message))


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return str(translations(_language.get()).npgettext(context, singular, plural, n))


def N_(message: str) -> str:
    """Marks a message for the catalogs where it is written; it is translated where shown."""
    return message


class Lazy(str):
    """A message translated when it is shown, not when it is written: a module-level constant,
    or an error raised in one language and answered in another. ``str(lazy)`` and formatting
    give the translation of the moment; comparison and hashing the English source."""

    __slots__ = ("context",)
    context: str | None

    def __new__(cls, message: str, context: str | None = None) -> Lazy:
        self = super().__new__(cls, message)
        self.context = context
        return self

    @property
    def source(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        if self.context is not None:
            return pgettext(self.context, self.source)
        return _(self.source)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __mod__(self, values: object) -> str:
        return str(self) % values


def lazy(message: str) -> Lazy:
    return Lazy(message)


def lazy_p(context: str, message: str) -> Lazy:
    return Lazy(message, context)


def reset_cache() -> None:
    """Catalogs read again (after the check or a test wrote them)."""
    from voltflow.i18n import markup

    translations.cache_clear()
    markup.clear()
