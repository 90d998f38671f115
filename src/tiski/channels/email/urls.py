"""Inbound-mail webhooks of email service providers, in anymail's URL shapes: …/webhooks/<provider>/inbound/.

Mailgun posts the original MIME ("body-mime") only to a route URL that contains "mime", so a Mailgun route
should forward to …/webhooks/mailgun/inbound_mime/.
"""

from django.urls import path

from tiski.channels.email.providers import AMAZON_SES, MAILGUN, POSTMARK, SENDGRID, inbound_webhook

app_name = "email"
urlpatterns = [
    path("webhooks/mailgun/inbound/", inbound_webhook, {"provider": MAILGUN}, name="mailgun_inbound"),
    path("webhooks/mailgun/inbound_mime/", inbound_webhook, {"provider": MAILGUN}, name="mailgun_inbound_mime"),
    path("webhooks/sendgrid/inbound/", inbound_webhook, {"provider": SENDGRID}, name="sendgrid_inbound"),
    path("webhooks/postmark/inbound/", inbound_webhook, {"provider": POSTMARK}, name="postmark_inbound"),
    path("webhooks/amazon_ses/inbound/", inbound_webhook, {"provider": AMAZON_SES}, name="amazon_ses_inbound"),
]
