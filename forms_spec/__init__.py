"""Form specifications per stage and method, and the models that check submissions."""

from swflow.forms_spec.catalogue import check_template_forms, template_forms
from swflow.forms_spec.cross_checks import Baseline, FormContext
from swflow.forms_spec.spec import FieldSpec, FormSpec, get_form, list_forms, load_form, model_for
from swflow.forms_spec.validate import MASK, form_schema, mask_sensitive, validate_submission

__all__ = [
    "Baseline",
    "FormContext",
    "FieldSpec",
    "check_template_forms",
    "template_forms",
    "FormSpec",
    "MASK",
    "form_schema",
    "get_form",
    "list_forms",
    "load_form",
    "mask_sensitive",
    "model_for",
    "validate_submission",
]
