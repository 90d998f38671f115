"""Help-centre URLs, mounted at /help/ (namespace "help").

/help/                              → /help/<lang>/ by the reader's language
/help/<lang>/                       home: search, categories, most read
/help/<lang>/search/?q=             search results
/help/<lang>/categories/<slug>/     a category
/help/<lang>/articles/<slug>/       an article (POST …/feedback/: "was this helpful?")
/help/<lang>/suggest?q=&session=&channel=   JSON suggestions for the web form and the chat widget
/help/partners/…                    the same pages for partner users (login), with partner articles
/help/s/<token>/                    one article through a share link
"""

from django.urls import URLPattern, include, path, register_converter

from tiski.knowledge.helpcentre import views
from tiski.knowledge.helpcentre.selectors import HELP_LANGUAGES


class LanguageConverter:
    regex = "|".join(HELP_LANGUAGES)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LanguageConverter, "helplang")

app_name = "help"


def _pages(portal: str, prefix: str) -> list[URLPattern]:
    kind = {"portal": portal}
    return [
        path("", views.help_root, kind, name=f"{prefix}root"),
        path("<helplang:lang>/", views.home, kind, name=f"{prefix}home"),
        path("<helplang:lang>/search/", views.search, kind, name=f"{prefix}search"),
        path("<helplang:lang>/categories/<slug:slug>/", views.category, kind, name=f"{prefix}category"),
        path("<helplang:lang>/articles/<slug:slug>/", views.article, kind, name=f"{prefix}article"),
        path("<helplang:lang>/articles/<slug:slug>/feedback/", views.feedback, kind, name=f"{prefix}feedback"),
    ]


urlpatterns = [
    path("s/<str:token>/", views.share, name="share"),
    path("<helplang:lang>/suggest", views.suggest, name="suggest"),
    path("partners/", include(_pages("partners", "partners-"))),
    *_pages("public", ""),
]
