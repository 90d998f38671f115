"""Meta's messaging channels: WhatsApp (Cloud API), Messenger and Instagram, through the Graph API.

Each is a WebhookAdapter behind the one webhook view (/hooks/<kind>/<channel id>/): the subscription
handshake (hub.challenge), X-Hub-Signature-256 verification, parsing into inbound messages and delivery
reports, and replies through the Graph API from the outbox. WhatsApp's 24-hour customer-service window is
enforced with approved message templates (models.WhatsAppTemplate); Instagram mentions and keyword comments
become cases in the social category, which a routing rule sends to the "Social" queue.
"""
