"""The public help centre (/help/<lang>/…), the partner portal (/help/partners/<lang>/…), share links
(/help/s/<token>/) and the suggestion endpoint the web form and the chat widget call while a customer types.

Every page reads without JavaScript. A reader sees only published language versions of articles whose
visibility the portal shows (see selectors); anything else is a 404 that looks like the help centre.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.html import strip_tags
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tiski.accounts.roles import PARTNER_ARTICLES, WORK_CASES
from tiski.channels.chat.consumers import origin_allowed
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.webform.services import company_name
from tiski.core.net import client_ip
from tiski.knowledge.helpcentre import selectors, services
from tiski.knowledge.helpcentre.exceptions import ShareLinkGoneError, ShareLinkNotFoundError
from tiski.knowledge.models import ArticleCategory, ArticleTranslation
from tiski.knowledge.search import SearchHit, articles_search

QUERY_MAX_CHARS = 200
SUGGEST_MIN_CHARS = 3
SUGGEST_LIMIT = 3
SEARCH_PAGE_SIZE = 10
SEARCH_MAX_PAGE = 50


@dataclass(frozen=True)
class Portal:
    """Who reads: the public help centre or the partner portal (login required, partner articles too)."""

    key: str
    visibilities: tuple[str, ...]

    @property
    def partners(self) -> bool:
        return self.key == "partners"

    def url(self, name: str, **kwargs: str) -> str:
        return reverse(f"help:{'partners-' if self.partners else ''}{name}", kwargs=kwargs)


PUBLIC = Portal("public", selectors.PUBLIC)
PARTNERS = Portal("partners", selectors.PARTNERS)
PORTALS = {"public": PUBLIC, "partners": PARTNERS}


def reader(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve the portal, let only partner users into the partner portal, and speak the URL's language."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, portal: str, lang: str, **kwargs: Any) -> HttpResponse:
        chosen = PORTALS[portal]
        with translation.override(lang):
            if chosen.partners:
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                if not (request.user.has_perm(PARTNER_ARTICLES) or request.user.has_perm(WORK_CASES)):
                    return _page(request, chosen, lang, "knowledge/help/forbidden.html", {}, status=403)
            response = view(request, chosen, lang, *args, **kwargs)
        response["Content-Language"] = lang
        if chosen.partners:
            patch_cache_control(response, private=True)
        return response

    return wrapper


def preferred_language(request: HttpRequest) -> str:
    """Return the help-centre language for REQUEST: its language cookie or Accept-Language, else the default."""
    code = translation.get_language_from_request(request)[:2]
    if code in selectors.HELP_LANGUAGES:
        return code
    default = settings.LANGUAGE_CODE[:2]
    return default if default in selectors.HELP_LANGUAGES else "fi"


# Page furniture


def _chat_channel() -> Channel | None:
    return Channel.objects.filter(kind=ChannelKind.CHAT, active=True).order_by("pk").first()


def _switch(request: HttpRequest, urls: dict[str, str], lang: str) -> list[dict[str, Any]]:
    names = {"fi": "Suomi", "en": "English"}
    return [{"code": code, "name": names[code], "url": urls[code], "current": code == lang} for code in urls]


def _page(
    request: HttpRequest,
    portal: Portal,
    lang: str,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    switch: dict[str, str] | None = None,
    canonical: str | None = None,
    alternates: dict[str, str] | None = None,
    index: bool = True,
) -> HttpResponse:
    """Render TEMPLATE with what every help-centre page shows (brand, language switch, search, contact)."""
    if switch is None:
        switch = {code: portal.url("home", lang=code) for code in selectors.HELP_LANGUAGES}
    chat = _chat_channel()
    base = {
        "company_name": company_name(),
        "language": lang,
        "portal": portal,
        "home_url": portal.url("home", lang=lang),
        "article_link": "help:partners-article" if portal.partners else "help:article",
        "category_link": "help:partners-category" if portal.partners else "help:category",
        "search_url": portal.url("search", lang=lang),
        "language_switch": _switch(request, switch, lang),
        "contact_url": f"{reverse('webform:form')}?lang={lang}",
        "chat_channel": chat,
        "canonical": request.build_absolute_uri(canonical) if canonical else None,
        "alternates": [
            {"code": code, "url": request.build_absolute_uri(url)} for code, url in (alternates or {}).items()
        ],
        "robots": "index, follow" if index and not portal.partners and status == 200 else "noindex, nofollow",
    }
    return render(request, template, {**base, **context}, status=status)


def _not_found(request: HttpRequest, portal: Portal, lang: str) -> HttpResponse:
    return _page(request, portal, lang, "knowledge/help/not_found.html", {}, status=404)


def _article_url(portal: Portal, item: ArticleTranslation | SearchHit, **query: str) -> str:
    url = portal.url("article", lang=item.language, slug=item.slug)
    return f"{url}?{urlencode(query)}" if query else url


# Pages


@require_GET
def help_root(request: HttpRequest, portal: str) -> HttpResponse:
    """Send /help/ (and /help/partners/) to the reader's language."""
    response = HttpResponseRedirect(PORTALS[portal].url("home", lang=preferred_language(request)))
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


@require_GET
@reader
def home(request: HttpRequest, portal: Portal, lang: str) -> HttpResponse:
    """Show the search box, the categories with their most read articles, and the most read articles."""
    context = {
        "categories": selectors.categories_for_reader(language=lang, visibilities=portal.visibilities),
        "popular": selectors.articles_popular(language=lang, visibilities=portal.visibilities),
    }
    alternates = {code: portal.url("home", lang=code) for code in selectors.HELP_LANGUAGES}
    return _page(
        request,
        portal,
        lang,
        "knowledge/help/home.html",
        context,
        canonical=alternates[lang],
        alternates=alternates,
    )


@require_GET
@reader
def category(request: HttpRequest, portal: Portal, lang: str, slug: str) -> HttpResponse:
    """List a category's articles."""
    try:
        found, cards = selectors.category_get(slug=slug, language=lang, visibilities=portal.visibilities)
    except ArticleCategory.DoesNotExist:
        return _not_found(request, portal, lang)
    name, description = selectors.category_label(found, lang)
    urls = {code: portal.url("category", lang=code, slug=slug) for code in selectors.HELP_LANGUAGES}
    context = {"category": found, "name": name, "description": description, "cards": cards}
    return _page(
        request,
        portal,
        lang,
        "knowledge/help/category.html",
        context,
        switch=urls,
        canonical=urls[lang],
        alternates=urls,
    )


@require_GET
@reader
def article(request: HttpRequest, portal: Portal, lang: str, slug: str) -> HttpResponse:
    """Show an article (the other language's version, said so, when it has none in LANG) and count the view."""
    page = selectors.article_for_reader(language=lang, slug=slug, visibilities=portal.visibilities)
    if page is None:
        return _not_found(request, portal, lang)
    shown = page.translation
    if page.redirect:
        return HttpResponseRedirect(_article_url(portal, shown, **_keep(request, "d")))
    services.article_view_record(translation=shown)
    deflection = request.GET.get("d", "")
    if not portal.partners and services.deflection_session_valid(deflection):
        services.deflection_opened(session=deflection, translation=shown)
    else:
        deflection = ""
    return _article_page(request, portal, lang, page, deflection=deflection)


def _keep(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.GET[name] for name in names if request.GET.get(name)}


def _article_page(
    request: HttpRequest, portal: Portal, lang: str, page: selectors.ArticlePage, *, deflection: str = ""
) -> HttpResponse:
    shown = page.translation
    versions = page.versions
    switch = {
        code: _article_url(portal, versions[code])
        if code in versions
        else portal.url("article", lang=code, slug=shown.slug)
        for code in selectors.HELP_LANGUAGES
    }
    visitor = request.session.get("help_visitor", "")
    answer = shown.feedback.filter(visitor=services.visitor_hash(visitor)).first() if visitor else None
    article_category = shown.article.category
    context = {
        "page": page,
        "translation": shown,
        "article_obj": shown.article,
        "category": article_category,
        "category_name": selectors.category_label(article_category, lang)[0] if article_category else "",
        "related": selectors.articles_related(translation=shown, visibilities=portal.visibilities),
        "answer": answer,
        "thanks": request.GET.get("feedback") == "1",
        "deflection": deflection,
        "feedback_url": portal.url("feedback", lang=lang, slug=shown.slug),
        "description": selectors.excerpt(shown.body_text, limit=155),
        "article_url": _article_url(portal, shown),
    }
    return _page(
        request,
        portal,
        lang,
        "knowledge/help/article.html",
        context,
        switch=switch,
        canonical=_article_url(portal, shown),
        alternates={code: _article_url(portal, t) for code, t in versions.items()},
    )


@require_POST
@reader
def feedback(request: HttpRequest, portal: Portal, lang: str, slug: str) -> HttpResponse:
    """Take a reader's "was this helpful?" (once per visitor) or the comment after it; back to the article."""
    page = selectors.article_for_reader(language=lang, slug=slug, visibilities=portal.visibilities)
    if page is None or page.redirect:
        return _not_found(request, portal, lang)
    shown = page.translation
    visitor = services.visitor_hash(_visitor_id(request))
    answer = request.POST.get("helpful", "")
    if answer in ("yes", "no"):
        services.feedback_record(
            translation=shown, helpful=answer == "yes", visitor=visitor, comment=request.POST.get("comment", "")
        )
        deflection = request.POST.get("d", "")
        if answer == "yes" and not portal.partners and services.deflection_session_valid(deflection):
            services.deflection_helped(session=deflection, translation=shown)
    elif "comment" in request.POST:
        services.feedback_comment_add(translation=shown, visitor=visitor, comment=request.POST["comment"])
    url = portal.url("article", lang=lang, slug=slug)
    return HttpResponseRedirect(f"{url}?feedback=1#feedback")


def _visitor_id(request: HttpRequest) -> str:
    """Return this browser's help-centre visitor id, kept in its session (which this creates when needed)."""
    visitor = request.session.get("help_visitor")
    if not isinstance(visitor, str) or not visitor:
        visitor = secrets.token_hex(16)
        request.session["help_visitor"] = visitor
    return visitor


@require_GET
@reader
def search(request: HttpRequest, portal: Portal, lang: str) -> HttpResponse:
    """Search the readable articles: all words first, then any word, then the other language; say what was done."""
    query = " ".join(request.GET.get("q", "").split())[:QUERY_MAX_CHARS]
    try:
        page_number = min(max(int(request.GET.get("page", "1")), 1), SEARCH_MAX_PAGE)
    except ValueError:
        page_number = 1
    context: dict[str, Any] = {"query": query, "hits": [], "page_number": page_number}
    if query:
        offset = (page_number - 1) * SEARCH_PAGE_SIZE

        def run(language: str | None, match: Literal["all", "any"]) -> list[SearchHit]:
            return articles_search(
                query,
                language=language,
                visibilities=portal.visibilities,
                match=match,
                limit=SEARCH_PAGE_SIZE + 1,
                offset=offset,
            )

        hits, broadened, other = run(lang, "all"), False, False
        if not hits and page_number == 1:
            hits = run(lang, "any")
            broadened = bool(hits)
        if not hits and page_number == 1:
            hits = [hit for hit in run(None, "any") if hit.language != lang]
            other = bool(hits)
        names = selectors.categories_by_id((hit.category_id for hit in hits), language=lang)
        context.update(
            hits=[
                {
                    "hit": hit,
                    "url": _article_url(portal, hit),
                    "category": names.get(hit.category_id or 0, ""),
                    "partners": hit.visibility == "partners",
                }
                for hit in hits[:SEARCH_PAGE_SIZE]
            ],
            more=len(hits) > SEARCH_PAGE_SIZE,
            broadened=broadened,
            other_language=other,
        )
        if not hits:
            context["did_you_mean"] = selectors.did_you_mean(
                query=query, language=lang, visibilities=portal.visibilities
            )
            context["categories"] = selectors.categories_for_reader(
                language=lang, visibilities=portal.visibilities, top=0
            )
            if not portal.partners and page_number == 1:
                services.search_failed_record(
                    query=query,
                    language=lang,
                    visitor=services.visitor_hash(client_ip(request), request.headers.get("User-Agent", "")),
                )
        context["next_url"] = f"{portal.url('search', lang=lang)}?{urlencode({'q': query, 'page': page_number + 1})}"
        context["prev_url"] = f"{portal.url('search', lang=lang)}?{urlencode({'q': query, 'page': page_number - 1})}"
    switch = {
        code: portal.url("search", lang=code) + (f"?{urlencode({'q': query})}" if query else "")
        for code in selectors.HELP_LANGUAGES
    }
    return _page(request, portal, lang, "knowledge/help/search.html", context, switch=switch, index=False)


# Suggestions while a customer types on the web form or in the chat widget


def _suggest_cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Allow the chat widget on a company site to read the answer (the origins the chat channels allow)."""
    origin = request.headers.get("Origin", "")
    if origin:
        host = request.get_host()
        chats = Channel.objects.filter(kind=ChannelKind.CHAT, active=True)
        if any(origin_allowed(channel=chat, origin=origin, host=host) for chat in chats):
            response["Access-Control-Allow-Origin"] = origin
        patch_vary_headers(response, ("Origin",))
    return response


@require_GET
def suggest(request: HttpRequest, lang: str) -> HttpResponse:
    """Answer {"articles": [{title, url, snippet}], "more": url} with up to three public articles for ?q=.

    ?session= (the form's or widget's deflection id) records that suggestions were shown; ?channel= is
    "webform" or "chat". The query is cut to 200 characters; each address may ask 120 times in 5 minutes.
    """

    def answer(status: int = 200, **body: Any) -> HttpResponse:
        response = JsonResponse(body, status=status)
        patch_cache_control(response, no_store=True)
        response["Content-Language"] = lang
        return _suggest_cors(request, response)

    channel = request.GET.get("channel", "")
    if channel not in selectors.DEFLECTION_CHANNELS:
        return answer(400, code="bad_channel", text="channel is webform or chat.")
    query = " ".join(request.GET.get("q", "")[: QUERY_MAX_CHARS * 2].split())[:QUERY_MAX_CHARS]
    if len(query) < SUGGEST_MIN_CHARS:
        return answer(articles=[])
    decision = services.suggest_rate_hit(visitor=client_ip(request))
    if not decision.allowed:
        response = answer(429, code="rate_limited", text="Too many requests; try again later.")
        response["Retry-After"] = str(decision.retry_after_s)
        return response
    hits = articles_search(query, language=lang, visibilities=selectors.PUBLIC, match="any", limit=SUGGEST_LIMIT)
    session = request.GET.get("session", "")
    if hits and services.deflection_session_valid(session):
        services.deflection_shown(session=session, channel_kind=channel, language=lang, query=query)
        extra = {"d": session}
    else:
        extra = {}
    more = f"{PUBLIC.url('search', lang=lang)}?{urlencode({'q': query})}"
    return answer(
        articles=[
            {
                "title": hit.title,
                "url": request.build_absolute_uri(_article_url(PUBLIC, hit, **extra)),
                "snippet": " ".join(strip_tags(hit.snippet_html).split()),
            }
            for hit in hits
        ],
        more=request.build_absolute_uri(more),
    )


# Share links


@require_http_methods(["GET", "HEAD"])
def share(request: HttpRequest, token: str) -> HttpResponse:
    """Show the article a share link opens, whatever its visibility; 410 once revoked or expired, else 404."""
    lang = request.GET.get("lang", "")
    if lang not in selectors.HELP_LANGUAGES:
        lang = preferred_language(request)
    with translation.override(lang):
        try:
            link = services.share_link_open(token=token)
        except ShareLinkNotFoundError:
            return _page(request, PUBLIC, lang, "knowledge/help/not_found.html", {}, status=404)
        except ShareLinkGoneError as gone:
            return _page(request, PUBLIC, lang, "knowledge/help/share_gone.html", {"reason": gone.reason}, status=410)
        versions = {
            t.language: t
            for t in link.article.translations.filter(status=ArticleTranslation.Status.PUBLISHED).select_related(
                "article", "article__category"
            )
        }
        shown = versions.get(lang) or next(iter(versions.values()))
        path = reverse("help:share", kwargs={"token": token})
        switch = {code: f"{path}?lang={code}" for code in selectors.HELP_LANGUAGES}
        page = selectors.ArticlePage(translation=shown, requested=lang, versions=versions)
        context = {
            "page": page,
            "translation": shown,
            "article_obj": link.article,
            "shared": link,
            "description": selectors.excerpt(shown.body_text, limit=155),
        }
        response = _page(request, PUBLIC, lang, "knowledge/help/article.html", context, switch=switch, index=False)
        response["Content-Language"] = lang
        response["Referrer-Policy"] = "no-referrer"  # the token must not leak to sites the article links to
        patch_cache_control(response, private=True, no_store=True)
        return response
