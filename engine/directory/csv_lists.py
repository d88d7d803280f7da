"""Contact lists kept in CSV files (exports from other systems), read into rows of addresses.

The support/IT list of the SAMSA plan is maintained elsewhere and exported as CSV; this module
reads such an export, forgiving what exports do (a BOM, `;` as the separator, Swedish column
names, blank lines) and reporting every bad row as `file:line: message`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import NamedTuple

from engine.domain.addresses import EMAIL_RE

MAX_CSV_BYTES = 5 * 1024 * 1024
CSV_COLUMNS = {  # header spelling -> column; Swedish exports say e-post / namn
    **dict.fromkeys(("email", "e-mail", "e-post", "epost"), "email"),
    **dict.fromkeys(("name", "namn"), "name"),
    **dict.fromkeys(("organisation", "organization", "org"), "organisation"),
}


class CsvRow(NamedTuple):
    """One member of a list as the CSV file gives it."""

    address: str
    name: str
    organisation: str


def parse_csv(data: bytes, source: str, problems: list[str]) -> Iterator[CsvRow]:
    """The rows of a contact-list CSV file; problems are appended as `source:line: message`."""
    if len(data) > MAX_CSV_BYTES:
        problems.append(f"{source}:1: file is larger than {MAX_CSV_BYTES} bytes")
        return
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError:
        problems.append(f"{source}:1: not UTF-8 text; save the file as CSV UTF-8")
        return
    first = text.lstrip().partition("\n")[0]
    delimiter = ";" if ";" in first and "," not in first else ","  # Swedish Excel uses ;
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header: list[str] | None = None
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [CSV_COLUMNS.get(c.strip().lower(), "?" + c.strip()) for c in row]
            unknown = [c[1:] for c in header if c.startswith("?")]
            if unknown:
                problems.append(
                    f"{source}:{line}: unknown column(s) {', '.join(unknown)}; "
                    "columns are email, name and organisation"
                )
            if "email" not in header:
                problems.append(
                    f"{source}:{line}: no email column in the header row "
                    f"(found: {', '.join(c.strip() for c in row)})"
                )
            if unknown or "email" not in header:
                return
            continue
        if len(row) != len(header):
            problems.append(f"{source}:{line}: expected {len(header)} fields, got {len(row)}")
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        address = cells.get("email", "")
        if not address:
            problems.append(f"{source}:{line}: no e-mail address")
        elif len(address) > 254 or not EMAIL_RE.match(address):
            problems.append(f"{source}:{line}: invalid e-mail address {address!r}")
        else:
            yield CsvRow(address, cells.get("name", ""), cells.get("organisation", ""))
    if header is None:
        problems.append(f"{source}:1: the file is empty; expected a header row with email")
