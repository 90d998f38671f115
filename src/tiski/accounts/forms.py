"""Forms of the login and two-factor pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from tiski.accounts import two_factor


class CodeForm(forms.Form):
    """A six-digit authenticator code or an eight-character backup code."""

    code = forms.CharField(label=_("Code"), max_length=40, strip=True)


class DisableTwoFactorForm(forms.Form):
    """Turning two-factor off asks for the password or a current code."""

    secret = forms.CharField(label=_("Password or a current code"), max_length=200, strip=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data["secret"]
        if self.user.check_password(secret) or two_factor.two_factor_verify(user=self.user, token=secret):
            return secret
        raise forms.ValidationError(_("That is neither your password nor a valid code."))
