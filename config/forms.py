from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Every form (ours and allauth's) renders with the same Tabler markup: label, widget, error, help."""

    form_template_name = "includes/form.html"
    field_template_name = "includes/field.html"
