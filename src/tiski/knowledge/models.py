"""The knowledge base.

An ``Article`` is one piece of knowledge ("How to return a product"): where it belongs (its help-centre
category, tags, the case categories and types it helps with) and who may read it (its visibility). Its
text lives in language versions, ``ArticleTranslation`` — one per language, each with its own title, body,
status and review. Every save of a language version keeps the previous text as an ``ArticleVersion``, so the
history can be shown as diffs and any version restored.

Visibility, from narrowest to widest: internal (agents), partners (agents and partner users, or a share
link), public (the help centre, anyone). Only published language versions are shown outside the console.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ArticleCategory(models.Model):
    """A help-centre category ("Orders and delivery"), with its Finnish name beside the default one."""

    slug = models.SlugField(_("address"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_fi = models.CharField(_("name in Finnish"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    description_fi = models.CharField(_("description in Finnish"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("article category")
        verbose_name_plural = _("article categories")

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    class Visibility(models.TextChoices):
        INTERNAL = "internal", _("Internal")
        PARTNERS = "partners", _("Partners")
        PUBLIC = "public", _("Public")

    category = models.ForeignKey(
        ArticleCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        verbose_name=_("category"),
    )
    visibility = models.CharField(
        _("visibility"), max_length=16, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    tags = models.ManyToManyField("cases.Tag", blank=True, related_name="articles", verbose_name=_("tags"))
    case_categories = models.ManyToManyField(
        "cases.Category",
        blank=True,
        related_name="articles",
        verbose_name=_("helps with case categories"),
    )
    case_types = models.JSONField(
        _("helps with case types"), default=list, blank=True, help_text=_("Case types, e.g. incident, question")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # What agents did with it, for the suggestions' ranking: kept up to date by the services.
    use_count = models.PositiveIntegerField(_("uses"), default=0)
    solved_count = models.PositiveIntegerField(_("uses on cases then solved"), default=0)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        permissions = [
            ("publish_article", "Can review, publish and archive articles"),
            ("view_partner_articles", "Can read articles shared with partners"),
        ]

    def __str__(self) -> str:
        return f"article {self.pk}"


class ArticleTranslation(models.Model):
    """One language version of an article: the text a reader sees, with its own status and review."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8)
    slug = models.SlugField(_("address"), max_length=200)
    title = models.CharField(_("title"), max_length=200)
    body_html = models.TextField(_("body"), blank=True, help_text=_("Sanitised HTML"))
    body_text = models.TextField(_("body as plain text"), blank=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewer"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    helpful_count = models.PositiveIntegerField(_("found helpful"), default=0)
    unhelpful_count = models.PositiveIntegerField(_("found unhelpful"), default=0)
    view_count = models.PositiveIntegerField(_("views"), default=0)

    class Meta:
        ordering = ["article", "language"]
        verbose_name = _("language version")
        verbose_name_plural = _("language versions")
        constraints = [
            models.UniqueConstraint(fields=["article", "language"], name="articletranslation_one_per_language"),
            models.UniqueConstraint(fields=["language", "slug"], name="articletranslation_slug"),
        ]
        indexes = [models.Index(fields=["language", "status"], name="articletranslation_lang_status")]

    def __str__(self) -> str:
        return self.title


class ArticleVersion(models.Model):
    """A language version as it was saved: the history behind the diffs."""

    translation = models.ForeignKey(ArticleTranslation, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body_html = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ArticleTranslation.Status.choices)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("change note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)

    class Meta:
        ordering = ["translation", "-number"]
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        constraints = [models.UniqueConstraint(fields=["translation", "number"], name="articleversion_number")]

    def __str__(self) -> str:
        return f"{self.translation_id} v{self.number}"


class ArticleUse(models.Model):
    """An agent used an article on a case; ``solved`` is filled in when the case is next solved or reopened."""

    class How(models.TextChoices):
        TEXT = "text", _("Inserted the text")
        LINK = "link", _("Inserted the link")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="uses")
    translation = models.ForeignKey(ArticleTranslation, null=True, on_delete=models.SET_NULL, related_name="uses")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="article_uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    how = models.CharField(max_length=8, choices=How.choices)
    suggested_rank = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Its place in the case's suggestions, when it was taken from them")
    )
    solved = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("article use")
        verbose_name_plural = _("article uses")
        indexes = [models.Index(fields=["case", "created_at"], name="articleuse_case")]

    def __str__(self) -> str:
        return f"{self.article_id} on {self.case_id}"


class ArticleFeedback(models.Model):
    """A reader's "was this helpful?" on a language version in the help centre."""

    translation = models.ForeignKey(ArticleTranslation, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    visitor = models.CharField(max_length=64, blank=True, help_text=_("A hash that keeps one answer per visitor"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")

    def __str__(self) -> str:
        return f"{self.translation_id} {'+' if self.helpful else '-'}"


class Deflection(models.Model):
    """Articles the web form or chat widget suggested while a customer typed, and what the customer did.

    One row per visitor's session on the form or widget: an article opened and no contact sent is a
    deflected contact; a contact sent anyway is not.
    """

    class Outcome(models.TextChoices):
        SHOWN = "shown", _("Suggestions shown")
        OPENED = "opened", _("Article opened")
        HELPED = "helped", _("Article helped")
        CONTACTED = "contacted", _("Contacted anyway")

    session = models.CharField(max_length=64, unique=True)
    channel_kind = models.CharField(max_length=16)
    language = models.CharField(max_length=8, blank=True)
    query = models.CharField(max_length=300, blank=True)
    translation = models.ForeignKey(ArticleTranslation, null=True, blank=True, on_delete=models.SET_NULL)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SHOWN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("deflection")
        verbose_name_plural = _("deflections")
        indexes = [models.Index(fields=["created_at", "outcome"], name="deflection_created")]

    def __str__(self) -> str:
        return f"{self.channel_kind} {self.outcome}"


class ShareLink(models.Model):
    """A link that lets someone outside Tiski read one article, whatever its visibility, until it expires."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True)
    note = models.CharField(_("shared with"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("share link")
        verbose_name_plural = _("share links")

    def __str__(self) -> str:
        return f"share {self.article_id}"
