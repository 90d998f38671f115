"""Full-text search over the knowledge base: one interface, the database's own engine behind it.

``articles_search`` is all the rest of Tiski calls. Behind it:

- **PostgreSQL**: a ``tsvector`` per language version in ``knowledge_search_document`` (title weighted A,
  body B) built with the language's text-search configuration (fi → finnish, en → english, sv → swedish,
  anything else → simple), a GIN index, ``websearch_to_tsquery`` per term, ``ts_rank_cd`` for ranking and
  ``ts_headline`` for the snippet.
- **SQLite**: an FTS5 table ``knowledge_search_fts``. FTS5 has no Finnish stemmer, so the text is stemmed
  here with the Snowball stemmers (the same algorithms PostgreSQL uses) before it is indexed, and the query's
  words are stemmed the same way; ``bm25`` ranks with the title weighted over the body; the snippet is cut
  and highlighted here.

Typo tolerance is the same on both: every word of the indexed text is kept in ``knowledge_search_word``;
when a query finds nothing, each of its words that is not in that vocabulary is replaced by the closest
words that are (pg_trgm's similarity on PostgreSQL to find candidates, edit distance with transpositions from rapidfuzz
to choose) and the search runs once more.

The index is kept in sync by the services (``search_index_update``/``search_index_delete``);
``search_reindex`` rebuilds it (``manage.py knowledge_reindex``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import snowballstemmer
from django.db import connection
from rapidfuzz import process
from rapidfuzz.distance import OSA

from tiski.knowledge.stopwords import STOP_WORDS

if TYPE_CHECKING:
    from tiski.knowledge.models import ArticleTranslation

__all__ = [
    "SearchHit",
    "articles_search",
    "search_index_delete",
    "search_index_update",
    "search_reindex",
    "snippet_for",
]

# Language code → (PostgreSQL text-search configuration, Snowball algorithm). Anything else: "simple".
LANGUAGE_CONFIGS: dict[str, tuple[str, str]] = {
    "fi": ("finnish", "finnish"),
    "en": ("english", "english"),
    "sv": ("swedish", "swedish"),
}
SIMPLE = "simple"

MAX_QUERY_CHARS = 20_000  # more than this of a case's text adds nothing to a search
MAX_TERMS_ALL = 12  # what a person types
MAX_TERMS_ANY = 32  # words of a case's text, for suggestions
ANY_TERMS = 10  # of those, at most this many of the rarest are searched for (in one language) …
ANY_ROWS = 3_000  # … as long as they are in at most this many versions together (the rarest always is)
ANY_RANKED = 1_500  # when even the rarest is in more, the newest this many versions holding them are ranked
CONFIGS_TTL_S = 60.0  # how long the configurations the index holds are remembered (searches in every language)
MIN_TYPO_LENGTH = 4
SNIPPET_WORDS = 32

_WORD = re.compile(r"[^\W_]+")
_MARK_START, _MARK_END = "\ue000", "\ue001"  # private-use characters: never in stored text (stripped)
_MARKED = re.compile(f"{_MARK_START}(.*?){_MARK_END}", re.DOTALL)


@dataclass(frozen=True)
class SearchHit:
    translation_id: int
    article_id: int
    language: str
    title: str
    slug: str
    snippet_html: str  # safe HTML: the text escaped, the matched words in <mark>
    rank: float  # higher is better; comparable within one result list only
    visibility: str
    category_id: int | None


def articles_search(
    query: str,
    *,
    language: str | None = None,
    visibilities: Collection[str] = ("public",),
    statuses: Collection[str] = ("published",),
    category_id: int | None = None,
    match: Literal["all", "any"] = "all",
    limit: int = 10,
    offset: int = 0,
    snippets: bool = True,
) -> list[SearchHit]:
    """Return the language versions that match ``query``, best first.

    ``match="all"`` finds versions with every word (what a person types into a search box); ``"any"``
    finds versions with any of them, ranked by how many and how rare (suggestions from a case's text).
    Words are stemmed in each version's language. Any text is accepted: quotes, operators and symbols are
    ignored, and an empty query returns no hits. An "any" query in one language keeps only its rarest words
    that the index holds (at most ANY_TERMS, in at most ANY_ROWS versions together): the words in nearly every
    article rank nothing and cost the most, since every version matched is ranked. When even its rarest word
    is in more than ANY_ROWS versions, the newest ANY_RANKED versions holding its words are ranked.
    SNIPPETS=False leaves ``snippet_html`` empty (see ``snippet_for``): for callers that re-rank many hits
    and show a few.
    """
    terms = query_terms(query, match=match)
    if not terms or not visibilities or not statuses or limit <= 0:
        return []
    limit, offset = min(int(limit), 200), max(int(offset), 0)
    backend = _backend()
    filters = _Filters(
        language=language or None,
        visibilities=tuple(sorted(set(visibilities))),
        statuses=tuple(sorted(set(statuses))),
        category_id=category_id,
    )
    cap = None
    if match == "any" and filters.language:
        chosen, documents = backend.informative(terms, filters.language)
        terms = chosen or terms[:ANY_TERMS]
        cap = ANY_RANKED if documents > ANY_ROWS else None
    groups = [[term] for term in terms]

    def run(groups: list[list[str]]) -> list[SearchHit]:
        return backend.search(
            groups, filters=filters, match=match, limit=limit, offset=offset, snippets=snippets, cap=cap
        )

    hits = run(groups)
    if hits or match == "any":  # typos are looked for in what a person types, not in a case's many words
        return hits
    corrected = _with_corrections(backend, terms)
    if corrected == groups:
        return []
    return run(corrected)


def snippet_for(text: str, query: str, language: str) -> str:
    """Return an excerpt of plain TEXT around the words of QUERY (stemmed in LANGUAGE) as safe HTML with <mark>."""
    words = set(query_terms(query, match="any"))
    stems = set(_stems(words, language))
    return snippet_html(text or "", lambda w: w in words or stem(w, language) in stems)


def search_index_update(translation: ArticleTranslation) -> None:
    """Index one language version's current title and text (replacing what was indexed before)."""
    _backend().update(
        translation_id=translation.pk,
        language=translation.language,
        title=translation.title,
        body=translation.body_text,
    )


def search_index_delete(translation_id: int) -> None:
    """Remove one language version from the index."""
    _backend().delete(translation_id)


def search_reindex() -> int:
    """Rebuild the whole index from the language versions; return how many were indexed."""
    return _backend().reindex()


# --- the query's words -------------------------------------------------------------------------------


def query_terms(query: str, *, match: Literal["all", "any"] = "all") -> list[str]:
    """Return the distinct lower-case words of ``query`` to search for, in order, at most a few dozen."""
    if not isinstance(query, str):
        return []
    limit = MAX_TERMS_ANY if match == "any" else MAX_TERMS_ALL
    terms: list[str] = []
    seen: set[str] = set()
    for found in _WORD.finditer(query[:MAX_QUERY_CHARS]):
        word = found.group().lower()
        if len(word) > 40 or word in seen or (len(word) < 2 and not word.isdigit()):
            continue
        seen.add(word)
        terms.append(word)
        if len(terms) >= limit:
            break
    return terms


def config_for(language: str) -> str:
    """Return the PostgreSQL text-search configuration for a language code."""
    return LANGUAGE_CONFIGS.get(_base_language(language), (SIMPLE, ""))[0]


def _base_language(language: str) -> str:
    return (language or "").lower().replace("_", "-").split("-")[0]


@lru_cache(maxsize=8)
def _stemmer(algorithm: str) -> Any:
    return snowballstemmer.stemmer(algorithm)


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    """Return the Snowball stem of a lower-case word in a language ("laskun", "fi" → "lasku")."""
    algorithm = LANGUAGE_CONFIGS.get(_base_language(language), (SIMPLE, ""))[1]
    if not algorithm:
        return word
    return str(_stemmer(algorithm).stemWord(word))


def _stems(words: Iterable[str], language: str) -> list[str]:
    stop = STOP_WORDS.get(_base_language(language), frozenset())
    return [stem(word, language) for word in words if word not in stop]


def _vocabulary_words(*texts: str) -> set[str]:
    return {w for text in texts for w in (m.lower() for m in _WORD.findall(text)) if 3 <= len(w) <= 40}


def _with_corrections(backend: _Backend, terms: list[str]) -> list[list[str]]:
    """Return each term with the indexed words closest to it when it is not itself an indexed word."""
    candidates = [t for t in terms if len(t) >= MIN_TYPO_LENGTH and not t.isdigit()]
    if not candidates:
        return [[t] for t in terms]
    known = backend.known_words(candidates)
    groups = []
    for term in terms:
        group = [term]
        if term in candidates and term not in known:
            max_distance = 1 if len(term) < 8 else 2
            near = backend.near_words(term)
            best = process.extract(term, near, scorer=OSA.distance, score_cutoff=max_distance, limit=3)
            group += [word for word, _distance, _index in best if word != term]
        groups.append(group)
    return groups


# --- snippets ----------------------------------------------------------------------------------------


def _marked_to_html(text: str) -> str:
    """Escape text whose matches are wrapped in the private-use markers and turn the markers into <mark>."""
    escaped = html.escape(text, quote=False)
    marked = _MARKED.sub(lambda m: f"<mark>{m.group(1)}</mark>", escaped)
    return marked.replace(_MARK_START, "").replace(_MARK_END, "")


def _clean(text: str) -> str:
    return (text or "").replace(_MARK_START, "").replace(_MARK_END, "").replace("\x00", "")


def snippet_html(text: str, is_match: Any, *, words: int = SNIPPET_WORDS) -> str:
    """Return an excerpt of plain ``text`` around its first matching words as safe HTML with <mark>."""
    text = _clean(text)
    found = list(_WORD.finditer(text))
    if not found:
        return html.escape(text[:240], quote=False)
    matches = [i for i, m in enumerate(found) if is_match(m.group().lower())]
    first = matches[0] if matches else 0
    start = max(0, first - 6)
    end = min(len(found), start + words)
    start = max(0, min(start, end - words))
    parts: list[str] = ["… "] if start > 0 else []
    cursor = found[start].start()
    for i in range(start, end):
        m = found[i]
        parts.append(html.escape(text[cursor : m.start()], quote=False))
        word = html.escape(m.group(), quote=False)
        parts.append(f"<mark>{word}</mark>" if i in matches else word)
        cursor = m.end()
    if end < len(found):
        parts.append(html.escape(text[cursor : found[end].start()].rstrip(), quote=False) + " …")
    else:
        parts.append(html.escape(text[cursor:], quote=False))
    return " ".join("".join(parts).split())


# --- backends ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Filters:
    language: str | None
    visibilities: tuple[str, ...]
    statuses: tuple[str, ...]
    category_id: int | None

    def sql(self, translation: str = "t", article: str = "a") -> tuple[str, list[Any]]:
        """Return the WHERE condition on the TRANSLATION and ARTICLE tables' aliases, and its parameters."""
        where = [
            f"{translation}.status IN ({', '.join(['%s'] * len(self.statuses))})",
            f"{article}.visibility IN ({', '.join(['%s'] * len(self.visibilities))})",
        ]
        params: list[Any] = [*self.statuses, *self.visibilities]
        if self.language:
            where.append(f"{translation}.language = %s")
            params.append(self.language)
        if self.category_id is not None:
            where.append(f"{article}.category_id = %s")
            params.append(self.category_id)
        return " AND ".join(where), params


class _Backend:
    def search(
        self,
        groups: list[list[str]],
        *,
        filters: _Filters,
        match: str,
        limit: int,
        offset: int,
        snippets: bool,
        cap: int | None,
    ) -> list[SearchHit]:
        """Return the hits of GROUPS (each a term and its alternatives); CAP: rank only the newest CAP matches."""
        raise NotImplementedError

    def informative(self, terms: list[str], language: str) -> tuple[list[str], int]:
        """Return the rarest of TERMS in LANGUAGE's documents, in TERMS' order, and how many documents hold them
        (a sum: an upper bound). The rarest first, then the next while all are in at most ANY_ROWS documents
        together, at most ANY_TERMS; terms in no document are left out."""
        counts = self.document_counts(terms, language)
        found = sorted((count, n) for n, term in enumerate(terms) if (count := counts.get(term, 0)) > 0)
        chosen: list[int] = []
        documents = 0
        for count, n in found[:ANY_TERMS]:
            if chosen and documents + count > ANY_ROWS:
                break
            chosen.append(n)
            documents += count
        return [terms[n] for n in sorted(chosen)], documents

    def document_counts(self, terms: list[str], language: str) -> dict[str, int]:
        raise NotImplementedError

    def update(self, *, translation_id: int, language: str, title: str, body: str) -> None:
        raise NotImplementedError

    def delete(self, translation_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.delete_sql, [translation_id])

    def reindex(self) -> int:
        raise NotImplementedError

    def known_words(self, words: Sequence[str]) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT word FROM knowledge_search_word WHERE word IN ({', '.join(['%s'] * len(words))})",  # noqa: S608  (placeholders and fixed names only; values are parameters)
                list(words),
            )
            return {row[0] for row in cursor.fetchall()}

    def near_words(self, word: str) -> list[str]:
        """Return indexed words that may be ``word`` with a typo (same first letter, similar length)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT word FROM knowledge_search_word WHERE word >= %s AND word < %s "
                "AND length(word) BETWEEN %s AND %s",
                [word[0], chr(ord(word[0]) + 1), len(word) - 2, len(word) + 2],
            )
            return [row[0] for row in cursor.fetchall()]

    delete_sql = ""

    @staticmethod
    def _hits(rows: Iterable[Sequence[Any]], snippet: Any) -> list[SearchHit]:
        return [
            SearchHit(
                translation_id=row[0],
                article_id=row[1],
                language=row[2],
                title=row[3],
                slug=row[4],
                visibility=row[5],
                category_id=row[6],
                rank=float(row[7]),
                snippet_html=snippet(row),
            )
            for row in rows
        ]


class _PostgresBackend(_Backend):
    delete_sql = "DELETE FROM knowledge_search_document WHERE translation_id = %s"
    _trigram: bool | None = None

    @staticmethod
    def _query_sql(config: str, groups: list[list[str]], match: str) -> tuple[str, list[Any]]:
        joiner = " && " if match == "all" else " || "
        parts, params = [], []
        for group in groups:
            alternatives = " || ".join(["websearch_to_tsquery(%s::regconfig, %s)"] * len(group))
            parts.append(f"({alternatives})")
            for word in group:
                params += [config, word]
        return joiner.join(parts), params

    def search(
        self,
        groups: list[list[str]],
        *,
        filters: _Filters,
        match: str,
        limit: int,
        offset: int,
        snippets: bool,
        cap: int | None,
    ) -> list[SearchHit]:
        if filters.language:
            configs = [config_for(filters.language)]
        else:
            configs = self._configs_present()
            if not configs:
                return []
        values, params = [], []
        for config in configs:
            sql, query_params = self._query_sql(config, groups, match)
            values.append(f"(%s::regconfig, {sql})")
            params += [config, *query_params]
        # Filter and rank on the index's own columns (no join per matching row), then check the few rows
        # returned against the tables, so a stale index entry can never show what must not be shown.
        where, filter_params = filters.sql("s", "s")
        check, check_params = filters.sql()
        headline_options = f"StartSel={_MARK_START}, StopSel={_MARK_END}, MaxWords=32, MinWords=16, ShortWord=2"
        headline = "ts_headline(r.config, t.body_text, r.query, %s)" if snippets else "%s"
        # ts_rank, not ts_rank_cd: a third of the cost for a word that matches thousands of versions, and the
        # same order where it matters (the title's words weigh 1.0, the body's 0.4).
        matches = f"""
            SELECT s.translation_id, s.config, s.document, q.query
            FROM knowledge_search_document s
            JOIN q ON q.config = s.config
            WHERE s.document @@ q.query AND {where}
        """  # noqa: S608  (fixed names and placeholders; values are parameters)
        if cap:
            matches += " LIMIT %s"
            filter_params = [*filter_params, cap]
        sql = f"""
            WITH q(config, query) AS (VALUES {", ".join(values)}),
            ranked AS (
                SELECT m.translation_id, m.config, m.query, ts_rank(m.document, m.query) AS rank
                FROM ({matches}) m
                ORDER BY rank DESC, m.translation_id
                LIMIT %s OFFSET %s
            )
            SELECT t.id, t.article_id, t.language, t.title, t.slug, a.visibility, a.category_id, r.rank,
                   {headline}
            FROM ranked r
            JOIN knowledge_articletranslation t ON t.id = r.translation_id
            JOIN knowledge_article a ON a.id = t.article_id
            WHERE {check}
            ORDER BY r.rank DESC, t.id
        """  # noqa: S608  (fixed names and placeholders; values are parameters)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *filter_params, limit, offset, headline_options, *check_params])
            rows = cursor.fetchall()
        return self._hits(rows, lambda row: _marked_to_html(row[8] or "") if snippets else "")

    _configs: tuple[float, list[str]] = (0.0, [])

    @classmethod
    def _configs_present(cls) -> list[str]:
        """Return the text-search configurations the index holds (a search in every language tries only those)."""
        import time

        at, configs = cls._configs
        if time.monotonic() - at > CONFIGS_TTL_S:
            with connection.cursor() as cursor:
                # One index probe per configuration instead of reading every row for DISTINCT.
                cursor.execute(
                    "SELECT c FROM unnest(%s::text[]) AS c WHERE EXISTS "
                    "(SELECT 1 FROM knowledge_search_document s WHERE s.config = c::regconfig)",
                    [[*(cfg for cfg, _ in LANGUAGE_CONFIGS.values()), SIMPLE]],
                )
                configs = [row[0] for row in cursor.fetchall()]
            cls._configs = (time.monotonic(), configs)
        return configs

    def document_counts(self, terms: list[str], language: str) -> dict[str, int]:
        config = config_for(language)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT w, coalesce(max(l.documents), 0)
                FROM unnest(%s::text[]) AS w
                LEFT JOIN LATERAL unnest(tsvector_to_array(to_tsvector(%s::regconfig, w))) AS x(lexeme) ON true
                LEFT JOIN knowledge_search_lexeme l ON l.config = %s::regconfig AND l.lexeme = x.lexeme
                GROUP BY w
                """,
                [terms, config, config],
            )
            return dict(cursor.fetchall())

    _LEXEMES_DOWN = """
        UPDATE knowledge_search_lexeme l SET documents = l.documents - 1
        FROM (SELECT config, unnest(tsvector_to_array(document)) AS lexeme
              FROM knowledge_search_document WHERE translation_id = %s) AS old
        WHERE l.config = old.config AND l.lexeme = old.lexeme
    """
    _LEXEMES_UP = """
        INSERT INTO knowledge_search_lexeme (config, lexeme, documents)
        SELECT config, unnest(tsvector_to_array(document)), 1
        FROM knowledge_search_document WHERE translation_id = %s
        ON CONFLICT (config, lexeme) DO UPDATE SET documents = knowledge_search_lexeme.documents + 1
    """

    def delete(self, translation_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self._LEXEMES_DOWN, [translation_id])
            cursor.execute(self.delete_sql, [translation_id])

    def update(self, *, translation_id: int, language: str, title: str, body: str) -> None:
        config, title, body = config_for(language), _clean(title), _clean(body)
        if config not in self._configs[1]:
            type(self)._configs = (0.0, [])  # a new language: searches in every language must see it now
        with connection.cursor() as cursor:
            cursor.execute(self._LEXEMES_DOWN, [translation_id])
            cursor.execute(
                """
                INSERT INTO knowledge_search_document
                    (translation_id, config, document, article_id, language, status, visibility, category_id)
                SELECT t.id, %s::regconfig,
                       setweight(to_tsvector(%s::regconfig, %s), 'A') || setweight(to_tsvector(%s::regconfig, %s), 'B'),
                       t.article_id, t.language, t.status, a.visibility, a.category_id
                FROM knowledge_articletranslation t JOIN knowledge_article a ON a.id = t.article_id
                WHERE t.id = %s
                ON CONFLICT (translation_id) DO UPDATE SET
                    config = EXCLUDED.config, document = EXCLUDED.document, article_id = EXCLUDED.article_id,
                    language = EXCLUDED.language, status = EXCLUDED.status, visibility = EXCLUDED.visibility,
                    category_id = EXCLUDED.category_id
                """,
                [config, config, title, config, body, translation_id],
            )
            cursor.execute(self._LEXEMES_UP, [translation_id])
            words = sorted(_vocabulary_words(title, body))
            if words:
                cursor.execute(
                    "INSERT INTO knowledge_search_word (word) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
                    [words],
                )

    def reindex(self) -> int:
        cases = " ".join(f"WHEN '{code}' THEN '{cfg}'" for code, (cfg, _) in LANGUAGE_CONFIGS.items())
        config = f"(CASE lower(split_part(replace(t.language, '_', '-'), '-', 1)) {cases} ELSE 'simple' END)::regconfig"
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE knowledge_search_document, knowledge_search_lexeme, knowledge_search_word")
            cursor.execute(
                f"""
                INSERT INTO knowledge_search_document
                    (translation_id, config, document, article_id, language, status, visibility, category_id)
                SELECT t.id, {config},
                       setweight(to_tsvector({config}, t.title), 'A')
                       || setweight(to_tsvector({config}, t.body_text), 'B'),
                       t.article_id, t.language, t.status, a.visibility, a.category_id
                FROM knowledge_articletranslation t JOIN knowledge_article a ON a.id = t.article_id
                """  # noqa: S608  (fixed names and placeholders; values are parameters)
            )
            count = cursor.rowcount
            cursor.execute(
                """
                INSERT INTO knowledge_search_lexeme (config, lexeme, documents)
                SELECT config, lexeme, count(*)
                FROM knowledge_search_document, unnest(tsvector_to_array(document)) AS lexeme
                GROUP BY config, lexeme
                """
            )
            type(self)._configs = (0.0, [])
            cursor.execute(
                r"""
                INSERT INTO knowledge_search_word (word)
                SELECT DISTINCT lower(w) FROM knowledge_articletranslation t,
                       regexp_split_to_table(t.title || ' ' || t.body_text, '[^[:alnum:]]+') AS w
                WHERE length(w) BETWEEN 3 AND 40
                ON CONFLICT DO NOTHING
                """
            )
        return count

    def near_words(self, word: str) -> list[str]:
        if not self._has_trigram():
            return super().near_words(word)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT word FROM knowledge_search_word WHERE word %% %s ORDER BY similarity(word, %s) DESC LIMIT 20",
                [word, word],
            )
            return [row[0] for row in cursor.fetchall()]

    @classmethod
    def _has_trigram(cls) -> bool:
        if cls._trigram is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
                cls._trigram = cursor.fetchone() is not None
        return cls._trigram


class _SqliteBackend(_Backend):
    delete_sql = "DELETE FROM knowledge_search_fts WHERE rowid = %s"

    @staticmethod
    def _lang_token(language: str) -> str:
        return "l" + re.sub(r"[^a-z0-9]", "", (language or "").lower())

    @staticmethod
    def _match_expression(groups: list[list[str]], language: str, match: str) -> str:
        parts = []
        for group in groups:
            stems = sorted(set(_stems(group, language)))
            if stems:
                parts.append("(" + " OR ".join(f'"{s}"' for s in stems) + ")")
        return (" AND " if match == "all" else " OR ").join(parts)

    def document_counts(self, terms: list[str], language: str) -> dict[str, int]:
        stems = {term: stem(term, language) for term in terms}
        wanted = sorted(set(stems.values()))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT term, doc FROM knowledge_search_vocab WHERE term IN ({', '.join(['%s'] * len(wanted))})",  # noqa: S608  (placeholders only; values are parameters)
                wanted,
            )
            counts = dict(cursor.fetchall())
        stop = STOP_WORDS.get(_base_language(language), frozenset())
        return {term: 0 if term in stop else counts.get(found, 0) for term, found in stems.items()}

    def search(
        self,
        groups: list[list[str]],
        *,
        filters: _Filters,
        match: str,
        limit: int,
        offset: int,
        snippets: bool,
        cap: int | None,
    ) -> list[SearchHit]:
        if filters.language:
            expression = self._match_expression(groups, filters.language, match)
            if not expression:
                return []
            fts_query = f'lang : "{self._lang_token(filters.language)}" AND {{title body}} : ({expression})'
        else:
            clauses = []
            for code in LANGUAGE_CONFIGS:
                expression = self._match_expression(groups, code, match)
                if expression:
                    clauses.append(f'(lang : "{self._lang_token(code)}" AND {{title body}} : ({expression}))')
            expression = self._match_expression(groups, "", match)
            if expression:
                stemmed = " OR ".join(f'"{self._lang_token(code)}"' for code in LANGUAGE_CONFIGS)
                clauses.append(f"({{title body}} : ({expression}) NOT lang : ({stemmed}))")
            if not clauses:
                return []
            fts_query = " OR ".join(clauses)
        where, filter_params = filters.sql()
        sql = f"""
            SELECT t.id, t.article_id, t.language, t.title, t.slug, a.visibility, a.category_id,
                   -bm25(knowledge_search_fts, 0.0, 8.0, 1.0) AS rank, t.body_text
            FROM knowledge_search_fts
            JOIN knowledge_articletranslation t ON t.id = knowledge_search_fts.rowid
            JOIN knowledge_article a ON a.id = t.article_id
            WHERE knowledge_search_fts MATCH %s AND {where}
            ORDER BY rank DESC, t.id
            LIMIT %s OFFSET %s
        """  # noqa: S608  (fixed names and placeholders; values are parameters)
        with connection.cursor() as cursor:
            cursor.execute(sql, [fts_query, *filter_params, limit, offset])
            rows = cursor.fetchall()
        words = {w for group in groups for w in group}

        def snippet(row: Sequence[Any]) -> str:
            if not snippets:
                return ""
            language = row[2]
            stems = set(_stems(words, language))
            return snippet_html(row[8] or "", lambda w: w in words or stem(w, language) in stems)

        return self._hits(rows, snippet)

    def _row(self, language: str, title: str, body: str) -> tuple[str, str, str]:
        def stemmed(text: str) -> str:
            return " ".join(stem(w.lower(), language) for w in _WORD.findall(_clean(text)))

        return self._lang_token(language), stemmed(title), stemmed(body)

    def update(self, *, translation_id: int, language: str, title: str, body: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.delete_sql, [translation_id])
            cursor.execute(
                "INSERT INTO knowledge_search_fts (rowid, lang, title, body) VALUES (%s, %s, %s, %s)",
                [translation_id, *self._row(language, title, body)],
            )
            words = sorted(_vocabulary_words(title, body))
            if words:
                cursor.executemany(
                    "INSERT OR IGNORE INTO knowledge_search_word (word) VALUES (%s)", [(w,) for w in words]
                )

    def reindex(self) -> int:
        from tiski.knowledge.models import ArticleTranslation

        count = 0
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM knowledge_search_fts")
            cursor.execute("DELETE FROM knowledge_search_word")
            rows = ArticleTranslation.objects.values_list("pk", "language", "title", "body_text")
            batch: list[tuple[Any, ...]] = []
            words: set[str] = set()
            for pk, language, title, body in rows.iterator(chunk_size=2000):
                batch.append((pk, *self._row(language, title, body)))
                words |= _vocabulary_words(title, body)
                if len(batch) >= 2000:
                    count += self._flush(cursor, batch, words)
                    batch, words = [], set()
            count += self._flush(cursor, batch, words)
        return count

    @staticmethod
    def _flush(cursor: Any, batch: list[tuple[Any, ...]], words: set[str]) -> int:
        if batch:
            cursor.executemany(
                "INSERT INTO knowledge_search_fts (rowid, lang, title, body) VALUES (%s, %s, %s, %s)", batch
            )
        if words:
            cursor.executemany("INSERT OR IGNORE INTO knowledge_search_word (word) VALUES (%s)", [(w,) for w in words])
        return len(batch)


_BACKENDS: dict[str, _Backend] = {"postgresql": _PostgresBackend(), "sqlite": _SqliteBackend()}


def _backend() -> _Backend:
    try:
        return _BACKENDS[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"knowledge search supports PostgreSQL and SQLite, not {connection.vendor}") from None
