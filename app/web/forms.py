"""A form of forms_spec as a web page and back: the inputs of the page (named `f.<field>`, a table's
cells `f.<table>.<row>.<column>`, an attachment's `f.<field>.path|sha256|file`), the data shape
`submit_form` expects, the values of a submission put back into inputs, and each (field, rule) of a
FormError placed at its input. The rules stay in forms_spec and the domain: strings go in as typed
(numbers and dates too) and the form's model checks and converts them."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile

from swflow.config.errors import FormError
from swflow.config.limits import get_limits
from swflow.config.settings import get_settings
from swflow.forms_spec import FieldSpec, FormSpec

__all__ = ["Inputs", "FormState", "read_inputs", "normalise", "to_data", "from_data", "place_problems", "sheet_rows"]

Inputs = dict[str, list[str]]
ROW_WORDS = re.compile(r"^第 (\d+) 行$")
NAMED = re.compile(r"（([a-z][a-z0-9_]*)）$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ROW_INDEX = re.compile(r"([0-9]{1,4})\.")
WHOLE = re.compile(r"^[+-]?[0-9]{1,18}$")


def attachments_dir() -> Path:
    return Path(get_settings().home) / "attachments"


async def _store_upload(upload: UploadFile, where: str) -> tuple[str, str]:
    """Keep an uploaded file under $SWFLOW_HOME/attachments/<sha256>: (path, sha256)."""
    limit = get_limits().input_bytes
    folder = attachments_dir()
    folder.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := await upload.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise FormError(f"{where}：文件超过 {limit} 字节", [(where, f"文件不超过 {limit} 字节")])
                digest.update(chunk)
                out.write(chunk)
        sha256 = digest.hexdigest()
        os.replace(temporary, folder / sha256)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return f"attachments/{sha256}", sha256


async def read_inputs(form: FormData) -> Inputs:
    """Every `f.*` input of a posted page; an uploaded file becomes its attachment's path and hash."""
    inputs: Inputs = {}
    for key, value in form.multi_items():
        if not key.startswith("f."):
            continue
        if isinstance(value, UploadFile):
            if value.filename and key.endswith(".file"):
                path, sha256 = await _store_upload(value, key[2:-5])
                inputs[key[:-5] + ".path"], inputs[key[:-5] + ".sha256"] = [path], [sha256]
            continue
        if key.endswith((".path", ".sha256")) and key in inputs:
            continue  # a fresh upload wins over the attachment kept from before
        inputs.setdefault(key, []).append(value.replace("\r\n", "\n"))
    return inputs


def _row_indexes(inputs: Inputs, key: str) -> list[int]:
    """The row numbers a table's inputs carry (`<key>.<row>.<column>`; at most 9999 rows)."""
    prefix = key + "."
    rows = (ROW_INDEX.match(k, len(prefix)) for k in inputs if k.startswith(prefix))
    return sorted({int(m.group(1)) for m in rows if m})


def _normalise(fields: Iterable[FieldSpec], inputs: Inputs, prefix: str, out: Inputs) -> None:
    for spec in fields:
        key = prefix + spec.name
        if spec.type == "table":
            kept = 0
            for index in _row_indexes(inputs, key):
                if inputs.get(f"{key}.{index}._remove"):
                    continue
                row: Inputs = {}
                _normalise(spec.columns or (), inputs, f"{key}.{index}.", row)
                if row:
                    old = f"{key}.{index}."
                    out.update({f"{key}.{kept}." + k[len(old) :]: v for k, v in row.items()})
                    kept += 1
        elif spec.type == "attachment":
            if inputs.get(key + "._remove"):
                continue
            for part in ("path", "sha256"):
                if value := [v.strip() for v in inputs.get(f"{key}.{part}", []) if v.strip()][:1]:
                    out[f"{key}.{part}"] = value
        else:
            values = [v for v in inputs.get(key, []) if v.strip()]
            if values:
                out[key] = values if spec.type == "multichoice" else values[:1]


def normalise(form: FormSpec, inputs: Inputs) -> Inputs:
    """Only the form's inputs, empty ones dropped; table rows removed or left blank dropped and the
    rest numbered 0, 1, … as they will be submitted (so a problem's row number finds its row)."""
    out: Inputs = {}
    _normalise(form.fields, inputs, "f.", out)
    return out


def _to_data(fields: Iterable[FieldSpec], inputs: Inputs, prefix: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in fields:
        key = prefix + spec.name
        if spec.type == "table":
            rows = [_to_data(spec.columns or (), inputs, f"{key}.{i}.") for i in _row_indexes(inputs, key)]
            if rows:
                data[spec.name] = rows
        elif spec.type == "attachment":
            parts = {p: inputs[f"{key}.{p}"][0] for p in ("path", "sha256") if f"{key}.{p}" in inputs}
            if parts:
                data[spec.name] = parts
        elif spec.type == "multichoice":
            if key in inputs:
                data[spec.name] = list(inputs[key])
        elif key in inputs:
            data[spec.name] = _typed(spec, inputs[key][0])
    return data


def _typed(spec: FieldSpec, text: str) -> Any:
    """Text as typed, except what a show-if compares by type (是/否, whole numbers): the domain
    checks a condition against the submitted value itself, before the model converts it."""
    if spec.type == "boolean" and text in ("true", "false"):
        return text == "true"
    if spec.type in ("integer", "scale") and WHOLE.match(text.strip()):
        return int(text.strip())
    return text if spec.type == "textarea" else text.strip()


def to_data(form: FormSpec, inputs: Inputs) -> dict[str, Any]:
    """Normalised inputs as the data `submit_form` checks: strings as typed, lists, rows."""
    return _to_data(form.fields, inputs, "f.")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _from_data(fields: Iterable[FieldSpec], data: dict[str, Any], prefix: str, out: Inputs) -> None:
    for spec in fields:
        key, value = prefix + spec.name, data.get(spec.name)
        if value is None:
            continue
        if spec.type == "table" and isinstance(value, list):
            for index, row in enumerate(value):
                if isinstance(row, dict):
                    _from_data(spec.columns or (), row, f"{key}.{index}.", out)
        elif spec.type == "attachment" and isinstance(value, dict):
            out.update({f"{key}.{p}": [str(value[p])] for p in ("path", "sha256") if p in value})
        elif isinstance(value, list):
            out[key] = [_text(v) for v in value]
        else:
            out[key] = [_text(value)]


def from_data(form: FormSpec, data: dict[str, Any]) -> Inputs:
    """A submission's values as the page's inputs (to fill the form in again)."""
    out: Inputs = {}
    _from_data(form.fields, data, "f.", out)
    return out


def sheet_rows(form: FormSpec) -> Inputs:
    """A fresh points sheet lists its items, one row each, to be given their points."""
    return {
        f"f.{spec.name}.{index}.item": [item.key]
        for spec in form.fields
        if spec.points is not None
        for index, item in enumerate(spec.points.items)
    }


def _input_key(where: str) -> str | None:
    key = ["f"]
    for part in where.split(" › "):
        if row := ROW_WORDS.match(part):
            key.append(str(int(row.group(1)) - 1))
            continue
        named = NAMED.search(part)
        name = named.group(1) if named else part
        if not NAME.match(name):
            return None
        key.append(name)
    return ".".join(key) if len(key) > 1 else None


def place_problems(problems: list[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Each rule at the input it names; the ones that name no input, for the top of the page."""
    placed: dict[str, list[str]] = {}
    unplaced: list[str] = []
    for where, rule in problems:
        key = _input_key(where)
        if key is None:
            unplaced.append(f"{where}：{rule}")
        else:
            placed.setdefault(key, []).append(rule)
    return placed, unplaced


class FormState:
    """What the field templates read: the typed values, the placed problems and the rows of tables."""

    def __init__(self, inputs: Inputs, errors: dict[str, list[str]] | None = None) -> None:
        self.inputs, self.errors = inputs, errors or {}

    @staticmethod
    def show_values(spec: FieldSpec) -> str:
        """The values of the controlling input that show the field, as the page's inputs carry them."""
        return "|".join(_text(v) for v in spec.show_if.equals) if spec.show_if else ""

    @staticmethod
    def condition(spec: FieldSpec, siblings: Iterable[FieldSpec]) -> str:
        """「只在 …… 时填写」 in the words of the controlling field's label and choices."""
        assert spec.show_if is not None
        target = next((s for s in siblings if s.name == spec.show_if.field), None)
        choices = dict(target.choices or {}) if target else {}
        words = [
            ("是" if v else "否") if isinstance(v, bool) else choices.get(str(v), str(v)) for v in spec.show_if.equals
        ]
        label = target.label if target else spec.show_if.field
        return f"当「{label}」为「{'、'.join(words)}」时填写"

    @staticmethod
    def scale(spec: FieldSpec) -> list[tuple[str, str]]:
        low, high = int(spec.min or 1), int(spec.max or 5)
        return [(str(n), str(n)) for n in range(low, high + 1)]

    def val(self, key: str) -> str:
        return (self.inputs.get(key) or [""])[0]

    def vals(self, key: str) -> list[str]:
        return self.inputs.get(key, [])

    def errs(self, key: str) -> list[str]:
        return self.errors.get(key, [])

    def errs_under(self, key: str) -> list[str]:
        """Problems of the input and of its parts (a multichoice's items, an attachment's hash)."""
        inner = [k for k in self.errors if k.startswith(key + ".")]
        return self.errs(key) + [r for k in sorted(inner) for r in self.errors[k]]

    def rows(self, key: str) -> list[int]:
        """The filled rows of a table, and one blank row to type a new one into."""
        filled = _row_indexes(self.inputs, key)
        return [*filled, (filled[-1] + 1) if filled else 0]
