"""Login steps, single sign-on and the user's account pages (two-factor, session keep-alive)."""

from django.urls import include, path
from django.views.generic import RedirectView

from tiski.accounts import oidc, views

account_patterns = [
    path("two-factor/", views.two_factor_settings, name="two-factor"),
    path("session/", views.session_keepalive, name="session"),
]

urlpatterns = [
    # The admin's own login form would skip the two-factor step: it uses Tiski's (before admin.site.urls).
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True), name="admin-login"),
    path("login/two-factor/", views.login_two_factor, name="login-two-factor"),
    path("oidc/authenticate/", oidc.OidcStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.OidcCallbackView.as_view(), name="oidc_authentication_callback"),
    path("console/account/", include((account_patterns, "account"))),
]
