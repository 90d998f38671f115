from django.contrib import admin

from tiski.knowledge.models import (
    Article,
    ArticleCategory,
    ArticleFeedback,
    ArticleTranslation,
    ArticleUse,
    ArticleVersion,
    Deflection,
    ShareLink,
)


@admin.register(ArticleCategory)
class ArticleCategoryAdmin(admin.ModelAdmin):
    """Help-centre categories, in the order shown."""

    list_display = ("name", "name_fi", "slug", "position")
    list_editable = ("position",)
    search_fields = ("name", "name_fi", "slug")
    prepopulated_fields = {"slug": ("name",)}


class ArticleTranslationInline(admin.TabularInline):
    """Language versions are written in the console (Knowledge), where saves keep versions and update search."""

    model = ArticleTranslation
    fields = ("language", "title", "status", "version", "author", "reviewer", "published_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "category", "visibility", "use_count", "solved_count", "updated_at")
    list_filter = ("visibility", "category")
    search_fields = ("translations__title",)
    filter_horizontal = ("tags", "case_categories")
    readonly_fields = ("created_by", "created_at", "updated_at", "use_count", "solved_count")
    inlines = [ArticleTranslationInline]


@admin.register(ArticleTranslation)
class ArticleTranslationAdmin(admin.ModelAdmin):
    """Read-only here: editing outside the services would skip the version history and the search index."""

    list_display = ("title", "language", "status", "version", "author", "reviewer", "updated_at")
    list_filter = ("language", "status")
    search_fields = ("title", "slug")
    raw_id_fields = ("article", "author", "reviewer")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin):
    list_display = ("translation", "number", "title", "status", "editor", "created_at")
    raw_id_fields = ("translation", "editor")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(ArticleUse)
class ArticleUseAdmin(admin.ModelAdmin):
    list_display = ("created_at", "article", "case", "user", "how", "suggested_rank", "solved")
    list_filter = ("how", "solved")
    raw_id_fields = ("article", "translation", "case", "user")


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "translation", "helpful", "comment")
    list_filter = ("helpful",)
    raw_id_fields = ("translation",)


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel_kind", "language", "query", "outcome")
    list_filter = ("outcome", "channel_kind")
    raw_id_fields = ("translation",)


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ("article", "note", "created_by", "expires_at", "revoked_at", "view_count")
    raw_id_fields = ("article", "created_by")
