"""Console URLs: /login/ and /logout/ at the top level, the console itself in the "console" namespace.

tiski.urls includes this module at the root without a namespace, so "login" and "logout" keep Django's
usual names (settings.LOGIN_URL), and the console's own pages are named "console:<name>".
"""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from tiski.accounts.views import TiskiLoginView
from tiski.console import call_views, chat_views, customer_views, routing_views, supervisor_views, views

NAMESPACE = "console"  # not `app_name`: that would namespace login/logout too
console_patterns = [
    path("console/", views.inbox, name="inbox"),
    path("console/cases/<str:reference>/", views.case_detail, name="case"),
    path("console/cases/<str:reference>/timeline/", views.case_timeline_partial, name="case-timeline"),
    path("console/cases/<str:reference>/reply/", views.case_reply, name="case-reply"),
    path("console/cases/<str:reference>/note/", views.case_note, name="case-note"),
    path("console/cases/<str:reference>/update/", views.case_update_view, name="case-update"),
    path("console/attachments/<int:pk>/<str:filename>", views.attachment_download, name="attachment"),
    path("console/messages/<int:pk>/split/", views.message_split, name="message-split"),
    path("console/messages/<int:pk>/html", views.message_html, name="message-html"),
    path("console/messages/<int:pk>/original", views.message_original, name="message-original"),
    path("console/quarantine/", views.quarantine, name="quarantine"),
    path("console/quarantine/<int:pk>/raw", views.quarantine_raw, name="quarantine-raw"),
    path("console/quarantine/<int:pk>/reprocess/", views.quarantine_reprocess_view, name="quarantine-reprocess"),
    path("console/quarantine/<int:pk>/dismiss/", views.quarantine_dismiss_view, name="quarantine-dismiss"),
    path("console/tokens/", views.tokens, name="tokens"),
    path("console/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("console/sent-mail/", views.sent_mail, name="sent-mail"),
    path("console/cases/<str:key>/follow/", customer_views.follow_toggle, {"target": "case"}, name="case-follow"),
    path("console/customers/<int:pk>/", customer_views.customer_detail, name="customer"),
    path("console/customers/<int:pk>/timeline/", customer_views.customer_timeline_partial, name="customer-timeline"),
    path(
        "console/customers/<int:key>/follow/",
        customer_views.follow_toggle,
        {"target": "customer"},
        name="customer-follow",
    ),
    path("console/customers/<int:pk>/merge/", customer_views.customer_merge_view, name="customer-merge"),
    path("console/customers/<int:pk>/export/", customer_views.customer_export_view, name="customer-export"),
    path("console/customers/<int:pk>/erase/", customer_views.customer_erase_view, name="customer-erase"),
    path("console/identities/<int:pk>/split/", customer_views.identity_split_view, name="identity-split"),
    path("console/suggestions/<int:pk>/link/", customer_views.suggestion_link, name="suggestion-link"),
    path("console/suggestions/<int:pk>/reject/", customer_views.suggestion_reject_view, name="suggestion-reject"),
    path("console/organizations/<int:pk>/", customer_views.organization_detail, name="organization"),
    path(
        "console/organizations/<int:key>/follow/",
        customer_views.follow_toggle,
        {"target": "organization"},
        name="organization-follow",
    ),
    path("console/notifications/", customer_views.notifications, name="notifications"),
    path("console/notifications/<int:pk>/", customer_views.notification_open, name="notification-open"),
    path("console/cases/<str:reference>/canned/", chat_views.canned_replies, name="case-canned"),
    path("console/cases/<str:reference>/call/", chat_views.case_call, name="case-call"),
    path("console/cases/<str:reference>/call/end/", chat_views.case_call_ended, name="case-call-end"),
    path("console/cases/<str:reference>/transcript/", chat_views.case_transcript, name="case-transcript"),
    path("console/cases/<str:reference>/dial/", call_views.case_dial, name="case-dial"),
    path("console/calls/<int:call_id>/case/", call_views.call_case, name="call-case"),
    path("console/calls/<int:call_id>/wrap-up/", call_views.call_wrap_up_view, name="call-wrap-up"),
    path("console/callbacks/<int:request_id>/attempt/", call_views.callback_attempt_view, name="callback-attempt"),
    path("console/callbacks/<int:request_id>/cancel/", call_views.callback_cancel_view, name="callback-cancel"),
    *routing_views.urlpatterns,
    *supervisor_views.urlpatterns,
]

urlpatterns = [
    path(
        "login/",
        TiskiLoginView.as_view(),  # password, then two-factor when the user has it (tiski.accounts)
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include((console_patterns, NAMESPACE))),
]
