"""What a connector hands the engine: pages of flat records with text values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass
class Page:
    records: list[dict[str, str]]  # field name (relationships dotted: "Owner.Email") -> text ("" for none)
    watermark: datetime | None  # the greatest modification time in the page


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested relationship objects become dotted keys; Salesforce's `attributes` are dropped."""
    out = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def text_of(value) -> str:
    """JSON values as the importer reads text: exact decimals, true/false, empty for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
