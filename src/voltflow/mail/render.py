"""Mails as the recipient reads them: one layout (HTML with inline styles, and its plain-text
twin), one template a kind, each message written once and translated from the same catalogs as
the pages, in the RECIPIENT's language and time zone.

A kind's template (``templates/<kind>.html``) fills two blocks, ``subject`` and ``body``, from the
pieces of ``parts`` (a paragraph, facts, a button, a table of lines). It is rendered twice: in
an environment where ``layout`` and ``parts`` are the HTML ones (autoescaped), and in one where
they are the text ones; so both alternatives say the same, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from voltflow.domain.mail import MailContent, MailKind, PaymentRequest
from voltflow.i18n import LANGUAGES, formats, terms, use
from voltflow.i18n.jinja import install

TEMPLATES = Path(__file__).parent / "templates"
# The files every kind shares; each other file is one kind's.
SHARED = frozenset({"layout.html", "layout.txt", "parts.html", "parts.txt"})


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    language: str


def template_name(kind: MailKind) -> str:
    return f"{kind.value}.html"


def _pad(value: Any, width: int, right: bool = False) -> str:
    text = str(value)
    return text.rjust(width) if right else text.ljust(width)


def text_table(
    columns: Sequence[tuple[str, bool]], rows: Sequence[Sequence[Any]], total: Sequence[Any]
) -> str:
    """Columns as wide as their widest cell, figures to the right; a rule above the total."""
    table = [[str(c) for c, _numeric in columns]] + [[str(c) for c in r] for r in rows]
    last = [str(c) for c in total]
    widths = [max(len(r[i]) for r in [*table, last]) for i in range(len(columns))]

    def line(cells: Sequence[str]) -> str:
        padded = (_pad(c, widths[i], columns[i][1]) for i, c in enumerate(cells))
        return ("  " + "  ".join(padded)).rstrip()

    rule = "  " + "  ".join("-" * w for w in widths)
    return "\n".join([*(line(r) for r in table), rule, line(last)])


@cache
def _environment(html: bool) -> Environment:
    env = install(
        Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            undefined=StrictUndefined,
            autoescape=html,
            keep_trailing_newline=True,
        )
    )
    env.filters["pad"] = _pad
    env.globals.update(
        layout="layout.html" if html else "layout.txt",
        parts="parts.html" if html else "parts.txt",
        text_table=text_table,
        money=formats.money,
        kwh=formats.kwh,
        number=formats.number,
        role_label=terms.role,
        document_kind=terms.document_kind,
    )
    return env


def _variables(content: MailContent, name: str | None, lang: str, timezone: str) -> dict[str, Any]:
    def local(value: datetime | date | None, style: str = "medium") -> str:
        return formats.when(value, timezone, style)

    def payment_rows(request: PaymentRequest) -> list[list[str]]:
        return [
            [
                local(line.day, "date"),
                line.description,
                formats.kwh(line.energy_wh),
                formats.money(Decimal(line.amount), request.currency),
            ]
            for line in request.lines
        ]

    return {
        "content": content,
        "recipient_name": name,
        "language": lang,
        "local": local,
        "payment_rows": payment_rows,
    }


def _blank_lines(text: str) -> str:
    """At most one empty line in a row, none at the ends (the blocks leave some behind)."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.rstrip() if line != "-- " else line
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def render(
    content: MailContent, *, language: str, timezone: str, name: str | None = None
) -> RenderedMail:
    """``content`` as a mail in ``language`` (nl, fr, en), its times in ``timezone``; ``name``
    the recipient's, for the greeting."""
    with use(language):
        variables = _variables(content, name, language, timezone)
        text_env, html_env = _environment(False), _environment(True)
        text_template = text_env.get_template(template_name(content.kind))
        context = text_template.new_context(variables)
        subject = " ".join("".join(text_template.blocks["subject"](context)).split())
        text = _blank_lines(text_template.render(variables))
        html = html_env.get_template(template_name(content.kind)).render(variables)
    return RenderedMail(subject, text, html, language)


def check(samples: dict[MailKind, MailContent] | None = None) -> list[tuple[str, str]]:
    """Every kind's template renders in every language from its sample, with no variable
    missing (undefined ones raise here); a template file no kind uses is a problem too.
    Answers ``(where, problem)`` pairs, for the catalogs' check."""
    from voltflow.mail.samples import SAMPLES

    samples = SAMPLES if samples is None else samples
    problems: list[tuple[str, str]] = []
    for kind in MailKind:
        if kind not in samples:
            problems.append((f"mail/{template_name(kind)}", "no sample to render it with"))
            continue
        for lang in LANGUAGES:
            try:
                mail = render(samples[kind], language=lang, timezone="Europe/Brussels", name="Ann")
            except (TemplateError, KeyError, TypeError, ValueError) as exc:
                where = f"mail/{template_name(kind)} ({lang})"
                problems.append((where, f"{type(exc).__name__}: {exc}"))
                continue
            if not mail.subject:
                problems.append((f"mail/{template_name(kind)} ({lang})", "empty subject"))
    used = {template_name(kind) for kind in MailKind} | SHARED
    for path in sorted(TEMPLATES.iterdir()):
        if path.is_file() and path.name not in used:
            problems.append((f"mail/{path.name}", "a template no kind of mail uses"))
    return problems
