"""A sheet of rows as a survey website or Excel gives it: the header and rows of a CSV (UTF-8, or
GB18030 as Excel saves it on Chinese Windows) or an XLSX (its first worksheet), from the file's bytes —
the CLI reads them from a path, the web door from an upload."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

from swflow.config.errors import FormError

__all__ = ["parse_sheet"]


def parse_sheet(name: str, raw: bytes) -> tuple[list[Any], list[list[Any]]]:
    """(header, rows) of the sheet named `name` (its ending says XLSX or CSV), or a FormError naming it."""
    if name.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise FormError(
                f"{name}：不是可读的 XLSX 文件（文件已损坏，或不是 Excel 工作簿）", [(name, "XLSX")]
            ) from exc
        rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    elif name.lower().endswith((".csv", ".txt")):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise FormError(f"{name}：不是 UTF-8 或 GB18030 编码的 CSV", [(name, "CSV 编码")])
        try:
            rows = [list(row) for row in csv.reader(io.StringIO(text))]
        except csv.Error as exc:
            raise FormError(f"{name}：不是有效的 CSV（{exc}）", [(name, "CSV")]) from exc
    else:
        raise FormError(f"{name}：回答表须是 .xlsx 或 .csv 文件", [(name, ".xlsx 或 .csv")])
    if not rows:
        raise FormError(f"{name}：文件是空的（首行应是列名）", [(name, "首行是列名")])
    return rows[0], rows[1:]
