"""The catalogs' upkeep and their check.

    python -m voltflow.i18n.catalogs update   extract the messages, merge them into every catalog
    python -m voltflow.i18n.catalogs check    fail on a message missing from a catalog, a missing
                                              or fuzzy translation, a translation whose
                                              placeholders differ from its message's, or a
                                              template (page or mail) that does not render in
                                              every language

``update`` keeps what is translated, adds what is new (untranslated) and drops what the code no
longer says; Babel's guesses for new messages are marked fuzzy, which the check refuses until a
person has read them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, TemplateError

from voltflow.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE, reset_cache, use

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE / "web" / "templates"
METHODS = [
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
    ("**.py", "python"),
]
OPTIONS = {
    "**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
    "**/templates/**.txt": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
}
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "N_": None,
    "lazy": None,
    "lazy_p": ((1, "c"), 2),
}
HEADER = "Voltflow's messages. English is the source; docs/glossary.md decides the terms."


def extract(package: Path = PACKAGE) -> Catalog:
    """Every message the code and the templates say, with where they say it."""
    catalog = Catalog(project="voltflow", domain=DOMAIN, header_comment=f"# {HEADER}")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(package),
        METHODS,
        OPTIONS,
        KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalog.add(
            message,
            None,
            [(f"voltflow/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def catalog_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(lang: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    path = catalog_path(lang, locale_dir)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN)
    with path.open("rb") as po:
        return read_po(po, locale=lang, domain=DOMAIN)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, sort_output=True, ignore_obsolete=True)


def update(package: Path = PACKAGE, locale_dir: Path = LOCALE_DIR) -> None:
    template = extract(package)
    write(template, locale_dir / f"{DOMAIN}.pot")
    for lang in LANGUAGES:
        if lang == SOURCE:
            continue
        catalog = read(lang, locale_dir)
        catalog.update(template, update_header_comment=True)
        write(catalog, catalog_path(lang, locale_dir))
    reset_cache()


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _key(message: Message) -> tuple[str, str | None]:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return msgid, message.context


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(strings) and all(strings)


def check_catalogs(package: Path = PACKAGE, locale_dir: Path = LOCALE_DIR) -> list[Problem]:
    template = extract(package)
    problems: list[Problem] = []
    for lang in LANGUAGES:
        if lang == SOURCE:
            continue
        path = catalog_path(lang, locale_dir)
        catalog = read(lang, locale_dir)
        where = str(path.relative_to(locale_dir.parent.parent.parent))
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id, context=message.context)
            said = " ".join(f"{f}:{n}" for f, n in message.locations[:1])
            label = _key(message)[0] + (f" (context {message.context})" if message.context else "")
            if found is None:
                problems.append(Problem(where, f"missing: {label!r} ({said})"))
            elif found.fuzzy:
                problems.append(Problem(where, f"fuzzy: {label!r}"))
            elif not _translated(found):
                problems.append(Problem(where, f"untranslated: {label!r}"))
        for message, errors in catalog.check():
            for error in errors:
                problems.append(Problem(where, f"{_key(message)[0]!r}: {error}"))
    return problems


class _Anything(ChainableUndefined):
    """Any variable a page is given: callable, comparable, countable, adds up, loops empty."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def _false(self, *args: Any, **kwargs: Any) -> Any:
        return False

    def _same(self, *args: Any, **kwargs: Any) -> Any:
        return self

    __lt__ = __le__ = __gt__ = __ge__ = _false
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same


def check_templates(templates: Path = TEMPLATES) -> list[Problem]:
    """Every template renders in every language: a translation naming a variable its template
    does not give fails here rather than on someone's page."""
    from voltflow.i18n.jinja import install

    env = install(
        Environment(loader=FileSystemLoader(str(templates)), undefined=_Anything, autoescape=True)
    )
    from voltflow.web.console.common import templates as console

    env.filters.update(console.env.filters)
    problems: list[Problem] = []
    for name in sorted(env.list_templates(extensions=["html", "txt"])):
        for lang in LANGUAGES:
            with use(lang):
                try:
                    env.get_template(name).render()
                except (TemplateError, KeyError, TypeError, ValueError) as exc:
                    problems.append(Problem(f"{name} ({lang})", f"{type(exc).__name__}: {exc}"))
    return problems


def check_mail_templates() -> list[Problem]:
    """Every kind of mail renders in every language from its sample, no variable missing (the
    mails' environment is strict: an undefined variable fails, as it would in a mail)."""
    # Read here, not at import: the mail package imports this one.
    from voltflow.mail.render import check as check_mails

    return [Problem(where, message) for where, message in check_mails()]


def check(package: Path = PACKAGE, locale_dir: Path = LOCALE_DIR) -> list[Problem]:
    reset_cache()
    return [
        *check_catalogs(package, locale_dir),
        *check_templates(package / "web" / "templates"),
        *check_mail_templates(),
    ]


def main(argv: Iterable[str]) -> int:
    args = list(argv)
    if args == ["update"]:
        update()
        print(f"catalogs updated under {LOCALE_DIR}")
        return 0
    if args == ["check"]:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"{len(problems)} translation problem(s)", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
