from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    """The knowledge base: articles in language versions, search, suggestions and the public help centre."""

    name = "tiski.knowledge"
    label = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tiski.knowledge import subscribers

        subscribers.connect()
        post_migrate.connect(_search_index_clear_when_empty, sender=self)


def _search_index_clear_when_empty(**_kwargs: object) -> None:
    """Empty the search index when there are no articles: ``flush`` (a test database between tests) empties the
    tables Django knows but not the index's own, which would otherwise keep the words of articles now gone."""
    from django.db import DatabaseError, transaction

    from tiski.knowledge.models import ArticleTranslation
    from tiski.knowledge.search import search_reindex

    try:
        with transaction.atomic():
            if not ArticleTranslation.objects.exists():
                search_reindex()
    except DatabaseError:  # the index's tables are not there yet (migrating backwards)
        pass
