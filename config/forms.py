from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Every form (ours and allauth's) renders with the same Tabler markup: label, widget, error, help."""

    form_template_name = "includes/form.html"
    field_template_name = "includes/field.html"


def form_add_service_errors(form: BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: beside the fields it names, else at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
