"""The templates' gettext callables: Jinja's newstyle semantics, with the lookups cached."""

from __future__ import annotations

import pytest
from jinja2 import Environment

from voltflow.i18n import markup, use


@pytest.fixture
def env() -> Environment:
    environment = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    environment.newstyle_gettext = True  # type: ignore[attr-defined]
    environment.globals.update(
        _=markup.gettext,
        gettext=markup.gettext,
        ngettext=markup.ngettext,
        pgettext=markup.pgettext,
        npgettext=markup.npgettext,
    )
    return environment


@pytest.mark.parametrize(
    ("source", "lang", "expected"),
    [
        ("{{ _('Log out') }}", "nl", "Afmelden"),
        ("{{ _('Log out') }}", "fr", "Se déconnecter"),
        ("{{ _('Log out') }}", "en", "Log out"),
        ("{{ pgettext('session type', 'Whitelist') }}", "fr", "Liste blanche"),
        # Variables are escaped into the trusted translation; the translation itself is not.
        ("{% trans tz=zone %}Times shown in {{ tz }}.{% endtrans %}", "en", "Times shown in <b>."),
        ("{{ _('100%% sure') }}", "en", "100% sure"),
        ("{{ ngettext('%(num)s day', '%(num)s days', 2) }}", "en", "2 days"),
    ],
)
def test_the_callables_translate_and_escape_like_jinjas_newstyle(
    env: Environment, source: str, lang: str, expected: str
) -> None:
    with use(lang):
        rendered = env.from_string(source).render(zone="<b>")
    assert rendered == expected.replace("<b>", "&lt;b&gt;")


def test_a_language_switch_between_renders_is_not_cached_across(env: Environment) -> None:
    template = env.from_string("{{ _('Log out') }}")
    with use("nl"):
        dutch = template.render()
    with use("fr"):
        french = template.render()
    assert (dutch, french) == ("Afmelden", "Se déconnecter")


def test_the_console_renders_with_the_cached_callables() -> None:
    from voltflow.web.console.common import templates

    assert templates.env.globals["_"] is markup.gettext
    assert templates.env.globals["pgettext"] is markup.pgettext
