"""The model choice labels the console shows, listed so makemessages puts them in the console's catalog.

The models mark them with gettext_lazy in their own apps; Django merges every app's catalog at run time,
so translating them here makes the console fully Finnish without the domain apps carrying a catalog.
"""

from django.utils.translation import gettext_noop, pgettext_lazy

MODEL_LABELS = (
    # Case.Status, Case.Priority, Case.Type
    gettext_noop("New"),
    gettext_noop("Open"),
    pgettext_lazy("case status", "Pending"),
    gettext_noop("On hold"),
    gettext_noop("Solved"),
    gettext_noop("Closed"),
    gettext_noop("Low"),
    gettext_noop("Normal"),
    gettext_noop("High"),
    gettext_noop("Urgent"),
    gettext_noop("Question"),
    gettext_noop("Incident"),
    gettext_noop("Problem"),
    gettext_noop("Task"),
    gettext_noop("Complaint"),
    # Message.Direction, Message.Author, Message.Delivery, Delivery.Status
    gettext_noop("Inbound"),
    gettext_noop("Outbound"),
    gettext_noop("Customer"),
    gettext_noop("Agent"),
    gettext_noop("System"),
    gettext_noop("Received"),
    gettext_noop("Queued"),
    gettext_noop("Sent"),
    gettext_noop("Delivered"),
    gettext_noop("Retrying"),
    gettext_noop("Failed"),
    gettext_noop("Bounced"),
    gettext_noop("Sending"),
    # CaseEvent.Kind
    gettext_noop("Case created"),
    gettext_noop("Message received"),
    gettext_noop("Reply queued"),
    gettext_noop("Reply sent"),
    gettext_noop("Delivery failed"),
    gettext_noop("Internal note added"),
    gettext_noop("Status changed"),
    gettext_noop("Priority changed"),
    gettext_noop("Owner changed"),
    gettext_noop("Team changed"),
    gettext_noop("Case updated"),
    gettext_noop("Reopened"),
    gettext_noop("Message moved to a new case"),
    gettext_noop("Queued for an agent"),
    gettext_noop("Transferred"),
    gettext_noop("Returned to the queue"),
    # ChannelKind, Identity.Kind
    gettext_noop("Email"),
    gettext_noop("Web form"),
    gettext_noop("Chat"),
    gettext_noop("Phone"),
    gettext_noop("SMS"),
    gettext_noop("WhatsApp"),
    gettext_noop("Messenger"),
    gettext_noop("Instagram"),
    gettext_noop("Chat session"),
    gettext_noop("Other"),
    # Customer.Tier
    gettext_noop("Standard"),
    gettext_noop("Silver"),
    gettext_noop("Gold"),
    gettext_noop("VIP"),
    # Settings.LANGUAGES and the app's name
    gettext_noop("English"),
    gettext_noop("Finnish"),
    gettext_noop("Agent console"),
)
