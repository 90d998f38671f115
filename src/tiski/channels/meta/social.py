"""Instagram mentions and comments as contacts: each mention, and each comment with an active keyword, opens
a case in the social category (routed to the "Social" queue by the rule social_category_ensure() creates).

A mention webhook names only the media and comment ids; the content is read from the Graph API
(GET /{ig-user-id}?fields=mentioned_comment.comment_id(…){…} or mentioned_media.media_id(…){…}), as Meta
documents for the mentions field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from tiski.channels.interface import InboundAttachment, InboundMessage, Threading
from tiski.channels.meta import graph
from tiski.channels.meta.adapters import as_dict, handles_for
from tiski.channels.meta.models import SocialKeyword
from tiski.channels.models import Channel
from tiski.routing.rules import keyword_text, keywords_found, keywords_parse

logger = logging.getLogger(__name__)

MEDIA_FIELDS = "id,caption,media_type,media_url,permalink,timestamp,username"
COMMENT_FIELDS = "id,text,timestamp,username,media{id,permalink}"


def mention_inbound(*, channel: Channel, value: Mapping[str, Any], token: str) -> InboundMessage:
    """Return the case-opening contact of one Instagram mention (in a caption or in a comment).

    When the mention cannot be read from the Graph API, the contact carries no handle and is quarantined
    with the webhook's data by the webhook view, so nothing is lost.
    """
    media_id = str(value.get("media_id", ""))
    comment_id = str(value.get("comment_id", ""))
    account = str((channel.config or {}).get("ig_user_id", "") or "me")
    raw = json.dumps({"field": "mentions", "value": dict(value)}, ensure_ascii=False)
    from tiski.channels.meta.services import social_category_ensure

    category = social_category_ensure()
    external_id = f"mention:{comment_id or media_id}"
    try:
        if comment_id:
            fields = f"mentioned_comment.comment_id({comment_id}){{{COMMENT_FIELDS}}}"
            answer = graph.graph_get_json(path=account, token=token, params={"fields": fields})
            found = answer.get("mentioned_comment") or {}
            text = str(found.get("text", ""))
            media = found.get("media") or {}
            link = str(media.get("permalink", "")) if isinstance(media, dict) else ""
            where = "a comment"
        else:
            fields = f"mentioned_media.media_id({media_id}){{{MEDIA_FIELDS}}}"
            answer = graph.graph_get_json(path=account, token=token, params={"fields": fields})
            found = answer.get("mentioned_media") or {}
            text = str(found.get("caption", ""))
            link = str(found.get("permalink", ""))
            where = "a post"
    except graph.MediaError as exc:
        logger.warning("instagram mention %s could not be read: %s", external_id, exc)
        text = f"Instagram mention {external_id} could not be read: {exc}"
        return InboundMessage(channel=channel, handles=[], body_text=text, raw=raw.encode())
    username = str(found.get("username", ""))
    attachments: list[InboundAttachment] = []
    notes: list[str] = []
    media_url = str(found.get("media_url", "")) if not comment_id else ""
    if media_url:
        try:
            content, content_type = graph.download(media_url)
            extension = content_type.split("/")[-1] if "/" in content_type else "bin"
            attachments.append(InboundAttachment(f"instagram-{media_id}.{extension}", content_type, content))
        except graph.MediaError as exc:
            notes.append(f"[the post's media could not be downloaded: {exc}]")
    body = "\n".join(part for part in (text, link, *notes) if part) or f"Mentioned the company in {where}."
    return InboundMessage(
        channel=channel,
        handles=handles_for("instagram", username) if username else [],
        body_text=body,
        external_id=external_id,
        sender_name=f"@{username}" if username else "",
        subject=f"Instagram: @{username} mentioned us in {where}",
        attachments=attachments,
        raw=json.dumps({"field": "mentions", "value": dict(value), "graph": found}, ensure_ascii=False).encode(),
        threading=Threading.NEW_CASE,
        category_id=category.pk,
    )


def keyword_matching(*, text: str, keywords: Sequence[SocialKeyword]) -> SocialKeyword | None:
    """Return the first of KEYWORDS that starts a word of TEXT (case-insensitive), or None."""
    prepared = keyword_text(text)
    for keyword in keywords:
        if keywords_found(keywords_parse(keyword.keyword), prepared):
            return keyword
    return None


def comment_inbound(
    *, channel: Channel, value: Mapping[str, Any], keywords: Sequence[SocialKeyword]
) -> InboundMessage | None:
    """Return the case-opening contact of a comment on the company's media when it contains an active keyword,
    else None (a comment without a keyword is not a case). The company's own comments are skipped."""
    sender = as_dict(value.get("from"))
    username = str(sender.get("username", ""))
    sender_id = str(sender.get("id", ""))
    text = str(value.get("text", ""))
    own = {str((channel.config or {}).get(key, "") or "") for key in ("ig_user_id", "page_id")} - {""}
    if sender_id and sender_id in own:
        return None
    keyword = keyword_matching(text=text, keywords=keywords)
    if keyword is None:
        logger.debug("instagram comment %s has no keyword: not a case", value.get("id"))
        return None
    from tiski.channels.meta.services import social_category_ensure

    category = keyword.category or social_category_ensure()
    media = as_dict(value.get("media"))
    link = f"(comment on media {media.get('id')})" if media.get("id") else ""
    return InboundMessage(
        channel=channel,
        handles=handles_for("instagram", username or sender_id) if (username or sender_id) else [],
        body_text="\n".join(part for part in (text, link) if part),
        external_id=f"comment:{value.get('id')}" if value.get("id") else None,
        sender_name=f"@{username}" if username else "",
        subject=f"Instagram comment by @{username or sender_id}: {keyword.keyword}",
        raw=json.dumps({"field": "comments", "value": dict(value)}, ensure_ascii=False).encode(),
        threading=Threading.NEW_CASE,
        category_id=category.pk,
    )
