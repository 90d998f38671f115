"""The search index's own tables, different per database (see tiski.knowledge.search).

PostgreSQL: a tsvector per language version with a GIN index, beside it the search filters (language,
status, visibility, category: filtering in the index's own row spares joining every matching row to the
tables before ranking), how many documents hold each lexeme (to leave the words that match nearly everything
out of a case's long "any word" query), and the indexed words with a trigram index (pg_trgm, created here
when the database allows it; typo tolerance falls back to prefix candidates without it). SQLite: an FTS5
table of Snowball-stemmed text with its fts5vocab view (the same document counts), and the indexed words.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

POSTGRES = [
    """
    CREATE TABLE knowledge_search_document (
        translation_id bigint PRIMARY KEY,
        config regconfig NOT NULL,
        document tsvector NOT NULL,
        article_id bigint NOT NULL,
        language varchar(8) NOT NULL,
        status varchar(16) NOT NULL,
        visibility varchar(16) NOT NULL,
        category_id bigint
    )
    """,
    "CREATE INDEX knowledge_search_document_gin ON knowledge_search_document USING gin (document)",
    """
    CREATE TABLE knowledge_search_lexeme (
        config regconfig NOT NULL,
        lexeme text NOT NULL,
        documents integer NOT NULL,
        PRIMARY KEY (config, lexeme)
    )
    """,
    "CREATE TABLE knowledge_search_word (word text PRIMARY KEY)",
]
POSTGRES_TRIGRAM = "CREATE INDEX knowledge_search_word_trgm ON knowledge_search_word USING gin (word gin_trgm_ops)"
SQLITE = [
    "CREATE VIRTUAL TABLE knowledge_search_fts USING fts5("
    "lang, title, body, tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE knowledge_search_vocab USING fts5vocab(knowledge_search_fts, 'row')",
    "CREATE TABLE knowledge_search_word (word TEXT PRIMARY KEY) WITHOUT ROWID",
]


def create(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        for sql in POSTGRES:
            schema_editor.execute(sql)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
            available = cursor.fetchone() is not None
        if available:
            try:
                with connection.cursor() as cursor, _savepoint(connection):
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except Exception:
                return
            schema_editor.execute(POSTGRES_TRIGRAM)
    elif connection.vendor == "sqlite":
        for sql in SQLITE:
            schema_editor.execute(sql)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TABLE IF EXISTS knowledge_search_document, knowledge_search_lexeme, knowledge_search_word"
        )
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_search_vocab")
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_search_fts")
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_search_word")


def _savepoint(connection: Any) -> Any:
    from django.db import transaction

    return transaction.atomic(using=connection.alias)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
