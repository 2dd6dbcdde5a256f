"""Matomo's answer shapes and their JSON, XML, CSV and TSV renderings.

A method returns one of these shapes, as Matomo's DataTable kinds render them:

- `Scalar` (API.getMatomoVersion): JSON `{"value": …}`, XML `<result>…</result>`, CSV `value` + the value;
- `Simple` (VisitsSummary.get): JSON one object, XML one `<result>` with a tag per figure;
- `Table` (reports): JSON a list of rows, XML `<row>`s; in CSV, row metadata (url, segment, logo…) as
  `metadata_<name>` columns, as Matomo exports them;
- `Records` (sites, visits of Live): plain lists of objects, nested lists rendered recursively;
- `Map` (several periods: `date=last7`…): JSON an object keyed by period, XML `<results>` of
  `<result date="…">`, CSV the rows with a first `date` column.

CSV cells that a spreadsheet would run as a formula are neutralised with the dashboards' export rule;
by default CSV/TSV come as UTF-16LE with a byte-order mark (Matomo's `convertToUnicode=1`).
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from typing import Any, Union

import orjson

from dashboards.export import csv_cell

FORMATS = ("json", "xml", "csv", "tsv")
XML_HEAD = '<?xml version="1.0" encoding="utf-8" ?>\n'
_TAG = re.compile(r"^[^!\"#$%&'()*+,/;<=>?@\[\\\]^`{|}~\-.0-9\s][^!\"#$%&'()*+,/;<=>?@\[\\\]^`{|}~\s]*$")
NO_DATA = "No data available"


@dataclass
class Scalar:
    value: Any


@dataclass
class Simple:
    values: dict[str, Any]


@dataclass
class Row:
    columns: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    def merged(self) -> dict[str, Any]:
        return {**self.columns, **self.metadata}


@dataclass
class Table:
    rows: list[Row]


@dataclass
class Records:
    items: list[Any]


@dataclass
class Map:
    items: dict[str, Union[Simple, Table]]
    key: str = "date"


Data = Union[Scalar, Simple, Table, Records, Map]


# --- JSON -----------------------------------------------------------------------------------------


def to_plain(data: Data) -> Any:
    """The shape as Matomo's JSON renderer gives it (also the items of a bulk answer)."""
    if isinstance(data, Scalar):
        return {"value": data.value}
    if isinstance(data, Simple):
        return data.values
    if isinstance(data, Table):
        return [row.merged() for row in data.rows]
    if isinstance(data, Records):
        return data.items
    return {key: to_plain(value) for key, value in data.items.items()}


def json_body(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def escape(text: str) -> str:
    """PHP's htmlspecialchars with ENT_COMPAT, as Matomo escapes values and messages: & < > and "."""
    return html.escape(text, quote=False).replace('"', "&quot;")


# --- XML ------------------------------------------------------------------------------------------


def xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return escape(str(value))


def _xml_node(name: str, value: Any, indent: str) -> str:
    if _TAG.match(name):
        start = end = name
    else:
        start, end = f'col name="{xml_value(name)}"', "col"
    if isinstance(value, dict | list):
        if not value:
            return f"{indent}<{start} />\n"
        return f"{indent}<{start}>\n{_xml_children(value, indent + chr(9))}{indent}</{end}>\n"
    text = xml_value(value)
    return f"{indent}<{start} />\n" if text == "" else f"{indent}<{start}>{text}</{end}>\n"


def _xml_children(value: dict[str, Any] | list[Any], indent: str) -> str:
    if isinstance(value, dict):
        return "".join(_xml_node(str(k), v, indent) for k, v in value.items())
    return "".join(_xml_node("row", v, indent) for v in value)


def _xml_result(data: Simple | Table | Records, attribute: str = "", indent: str = "") -> str:
    plain = to_plain(data)
    open_tag = f"result{attribute}"
    if not plain:
        return f"{indent}<{open_tag} />\n" if indent else f"<{open_tag} />"
    body = _xml_children(plain, indent + "\t")
    return f"{indent}<{open_tag}>\n{body}{indent}</result>" + ("\n" if indent else "")


def as_xml(data: Data) -> str:
    if isinstance(data, Scalar):
        text = xml_value(data.value)
        return XML_HEAD + (f"<result>{text}</result>" if text else "<result />")
    if isinstance(data, Map):
        inner = "".join(_xml_result(v, f' {data.key}="{xml_value(k)}"', "\t") for k, v in data.items.items())
        return XML_HEAD + f"<results>\n{inner}</results>"
    return XML_HEAD + _xml_result(data)


# --- CSV / TSV ------------------------------------------------------------------------------------


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Matomo flattens nested columns as name_key; lists of objects (a visit's actions) are left out."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}_{key}", inner, out)
    elif isinstance(value, list):
        return
    else:
        out[prefix] = value


def _csv_rows(data: Data) -> list[dict[str, Any]]:
    if isinstance(data, Scalar):
        return [{"value": data.value}]
    if isinstance(data, Simple):
        return [data.values] if data.values else []
    if isinstance(data, Table):
        return [{**r.columns, **{f"metadata_{k}": v for k, v in r.metadata.items()}} for r in data.rows]
    if isinstance(data, Records):
        rows = []
        for item in data.items:
            flat: dict[str, Any] = {}
            for key, value in item.items() if isinstance(item, dict) else [("value", item)]:
                _flat(str(key), value, flat)
            rows.append(flat)
        return rows
    return [{data.key: key, **row} for key, inner in data.items.items() for row in _csv_rows(inner)]


def as_separated(data: Data, separator: str) -> str:
    rows = _csv_rows(data)
    columns = list(dict.fromkeys(name for row in rows for name in row))
    if not rows or not columns:
        return NO_DATA
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(_csv_value(row.get(c, ""))) for c in columns])
    return out.getvalue().removesuffix("\n")


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return value.replace("\t", " ")
    return value


def encode_text(text: str, unicode: bool) -> bytes:
    """Matomo's convertToUnicode: UTF-16LE with a byte-order mark (spreadsheets read it), else UTF-8."""
    return b"\xff\xfe" + text.encode("utf-16-le") if unicode else text.encode()


# --- answers --------------------------------------------------------------------------------------

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
    "csv": "application/vnd.ms-excel",
    "tsv": "application/vnd.ms-excel",
}


def body(data: Data, fmt: str, unicode: bool = True) -> bytes:
    if fmt == "json":
        return json_body(to_plain(data))
    if fmt == "xml":
        return as_xml(data).encode()
    return encode_text(as_separated(data, "," if fmt == "csv" else "\t"), unicode)


def error_text(message: str) -> str:
    return escape(message).replace("\r\n", " ").replace("\n", " ")


def error_body(message: str, fmt: str) -> tuple[bytes, str]:
    """Matomo's error answer in a format, the message escaped as Matomo escapes it (html special chars)."""
    text = error_text(message)
    if fmt == "json":
        return json_body({"result": "error", "message": text}), CONTENT_TYPES["json"]
    if fmt == "xml":
        return (XML_HEAD + f'<result>\n\t<error message="{text}" />\n</result>').encode(), CONTENT_TYPES["xml"]
    return f"Error: {text}".encode(), "text/plain; charset=utf-8"
