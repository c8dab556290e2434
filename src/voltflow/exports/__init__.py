"""Exports of lists (CSV for programs, XLSX for people), streamed: writers take an iterator or
an async iterator of rows and give the file as bytes chunks, in constant memory whatever the
number of rows. An adapter of the domain's records, like the console and the API."""

from voltflow.exports.columns import Column, Columns, Kind
from voltflow.exports.csv_writer import aiter_csv, iter_csv
from voltflow.exports.xlsx_writer import aiter_xlsx, iter_xlsx

__all__ = ["Column", "Columns", "Kind", "aiter_csv", "aiter_xlsx", "iter_csv", "iter_xlsx"]
