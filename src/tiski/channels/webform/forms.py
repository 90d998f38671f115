"""The public contact form: validates and normalises what a visitor typed, before anything is stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tiski.cases.models import Category
from tiski.channels.interface import InboundAttachment
from tiski.channels.webform.services import Submission, form_token_check
from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.normalize import normalize_email, normalize_phone

MESSAGE_MAX_CHARS = 20_000
HONEYPOT_FIELD = "website"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes any number of files, each checked by FileField."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        cleaned, errors = [], []
        for file in files:
            if not getattr(file, "size", 0):
                errors.append(
                    forms.ValidationError(
                        _("“%(name)s” is empty; please choose the file again."),
                        code="empty",
                        params={"name": getattr(file, "name", "") or "?"},
                    )
                )
                continue
            cleaned.append(super().clean(file, initial))
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


class TelInput(forms.TextInput):
    input_type = "tel"


class TopicField(forms.ModelChoiceField):
    """The topics in the visitor's language."""

    def label_from_instance(self, obj: Any) -> str:
        assert isinstance(obj, Category)
        return obj.label(translation.get_language() or settings.LANGUAGE_CODE)


class ContactForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.CharField(
        label=_("Email address"),
        max_length=320,
        help_text=_("We will send our reply here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        required=False,
        help_text=_("For example +358 40 123 4567."),
        widget=TelInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    topic = TopicField(
        label=_("Topic"),
        queryset=Category.objects.filter(public=True).order_by("position", "name"),
        empty_label=_("Choose a topic"),
    )
    message = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text=_("Plain text. Tell us what happened and include any order number."),
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)
    # A field no person sees or fills in; bots that fill every field reveal themselves.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    form_token = forms.CharField(widget=forms.HiddenInput)
    # The id under which the help centre counted the articles it suggested while the visitor typed (deflection).
    deflection = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_files = int(settings.TISKI_WEBFORM_MAX_ATTACHMENTS)
        self.max_bytes = int(settings.TISKI_WEBFORM_MAX_ATTACHMENT_BYTES)
        self.fields["attachments"].help_text = ngettext(
            "At most %(count)s file of up to %(size)s.",
            "At most %(count)s files, each up to %(size)s.",
            self.max_files,
        ) % {"count": self.max_files, "size": filesizeformat(self.max_bytes)}
        topic = self.fields["topic"]
        assert isinstance(topic, TopicField)
        if not topic.queryset.exists():  # type: ignore[union-attr]
            del self.fields["topic"]
        self.fields["message"].error_messages["max_length"] = _(
            "Please shorten your message to at most %(limit_value)d characters (it has %(show_value)d)."
        )
        self.fields["name"].error_messages["required"] = _("Please tell us your name.")
        self.fields["email"].error_messages["required"] = _("Please enter your email address so we can reply.")
        self.fields["message"].error_messages["required"] = _("Please write your message.")
        if "topic" in self.fields:
            self.fields["topic"].error_messages["required"] = _("Please choose a topic.")
            self.fields["topic"].error_messages["invalid_choice"] = _("Please choose one of the topics in the list.")
        self.fields["attachments"].error_messages["invalid"] = _("One of the files could not be read.")

    @property
    def is_spam(self) -> bool:
        """Return whether the hidden honeypot field was filled in."""
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Please tell us your name."), code="required")
        return name

    def clean_email(self) -> str:
        try:
            return normalize_email(self.cleaned_data["email"])
        except IdentityInvalidError:
            raise forms.ValidationError(
                _("Please enter a valid email address, for example name@example.com."), code="invalid"
            ) from None

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        if not value:
            return ""
        try:
            return normalize_phone(value)
        except IdentityInvalidError:
            raise forms.ValidationError(
                _("Please enter a valid phone number, for example +358 40 123 4567, or leave it empty."),
                code="invalid",
            ) from None

    def clean_message(self) -> str:
        text = self.cleaned_data["message"].replace("\r\n", "\n").replace("\r", "\n").strip()
        if not text:
            raise forms.ValidationError(_("Please write your message."), code="required")
        return text

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["attachments"]
        errors = []
        if len(files) > self.max_files:
            errors.append(
                forms.ValidationError(
                    _("You attached %(count)s files; please attach at most %(limit)s."),
                    code="too_many",
                    params={"count": len(files), "limit": self.max_files},
                )
            )
        for file in files:
            if file.size is not None and file.size > self.max_bytes:
                errors.append(
                    forms.ValidationError(
                        _("“%(name)s” is %(size)s; the limit is %(limit)s per file."),
                        code="too_big",
                        params={
                            "name": file.name,
                            "size": filesizeformat(file.size),
                            "limit": filesizeformat(self.max_bytes),
                        },
                    )
                )
        if errors:
            raise forms.ValidationError(errors)
        return files

    def clean_form_token(self) -> str:
        token = form_token_check(self.cleaned_data["form_token"])
        if token is None:
            raise forms.ValidationError(
                _("This form has expired. Your text is still here: please send it again."), code="expired"
            )
        return token

    def submission(self, *, language: str) -> Submission:
        """Return the validated submission (call after is_valid)."""
        data = self.cleaned_data
        files: Sequence[UploadedFile] = data.get("attachments") or []
        return Submission(
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            category=data.get("topic"),
            message=data["message"],
            attachments=[
                InboundAttachment(
                    filename=file.name or "attachment",
                    content_type=file.content_type or "application/octet-stream",
                    content=file.read(),
                )
                for file in files
            ],
            token=data["form_token"],
            language=language,
        )
