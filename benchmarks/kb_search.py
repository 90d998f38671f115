#!/usr/bin/env python3
"""Knowledge-base search benchmark: articles_search() over 50,000 articles in Finnish and English.

Seeds, with bulk_create, N articles (default 50,000; --quick 5,000), half of them Finnish and half English
language versions, 80 % published and 70 % public (the rest drafts, in review or archived; internal or for
partners), each a title and a body of 6–14 sentences (≈120–260 words) composed from the demo shop's
knowledge base (tiski.knowledge.demo) with product names, numbers and codes mixed in, so the vocabulary is
large and every word is shared by many articles, as in a real knowledge base. Then search_reindex() builds
the index (the time is reported) and a query mix runs through the one public interface:

- what a customer types in the help centre (60 %): 1–3 words, Finnish or English, public + published, in
  the reader's language ("laskun eräpäivä", "return label", "nastarenkaat");
- what an agent types in the console (25 %): 1–2 words, every visibility and status, no language filter;
- typos (15 %): a letter dropped, swapped or doubled ("palatus", "warrnaty"), which find nothing until the
  typo fallback corrects them — the slowest path, on purpose part of the mix.

    python benchmarks/kb_search.py [--quick] [--db sqlite|postgres] [--articles N] [--queries N] [--runs N]

Latency is each call's wall time in this process (query, ranking, snippets, Python objects), single client.
The last line printed is one JSON object (medians over runs; the index is built once).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from typing import Any

from benchlib import database_arguments, django_bench, machine, percentile

PG_BENCH_DB = "tiski_bench_kb"

QUERIES_FI = [
    "lasku",
    "laskun eräpäivä",
    "eräpäivän siirto",
    "palautus",
    "palautustarra",
    "tuotteen palauttaminen",
    "takuu",
    "vetoketju rikki",
    "toimitusaika",
    "paketin seuranta",
    "nastarenkaat",
    "rengashotelli säilytys",
    "huollon hinta",
    "sähköpyörän akku",
    "maksutavat",
    "osamaksu",
    "salasana unohtui",
    "yrityslasku verkkolasku",
    "koon vaihto",
    "hyvitys kortille",
    "runkokoko",
    "kotiinkuljetus hinta",
]
QUERIES_EN = [
    "invoice",
    "invoice due date",
    "return",
    "return label",
    "refund card",
    "warranty",
    "broken zip",
    "delivery time",
    "tracking parcel",
    "studded tyres",
    "tyre hotel",
    "service price",
    "battery winter",
    "payment methods",
    "instalments",
    "forgot password",
    "company invoice",
    "exchange size",
    "frame size",
    "home delivery",
]
PRODUCTS = [
    "Pohjola Trail 29",
    "Virta E5",
    "Aalto 7",
    "Merino 150",
    "Revontuli",
    "Kaamos 2",
    "Tykky -10",
    "Kelo 45",
    "Routa GTX",
    "Lumo 3",
    "Saimaa Tour",
    "Kuura 900",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_arguments(parser, pg_name=PG_BENCH_DB)
    parser.add_argument("--quick", action="store_true", help="5,000 articles, 300 queries, 1 run")
    parser.add_argument("--articles", type=int, help="articles to seed (default 50,000; 5,000 with --quick)")
    parser.add_argument("--queries", type=int, help="queries per run (default 2,000; 300 with --quick)")
    parser.add_argument("--runs", type=int, help="runs to take the median of (default 3; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--explain", action="store_true", help="print PostgreSQL's plan of one query")
    args = parser.parse_args()
    args.articles = args.articles or (5_000 if args.quick else 50_000)
    args.queries = args.queries or (300 if args.quick else 2_000)
    args.runs = args.runs or (1 if args.quick else 3)
    return args


def _sentences(html: str) -> list[str]:
    text = re.sub(r"<[^>]+>", " ", html)
    return [s.strip() for s in re.split(r"(?<=[.!?:])\s+", " ".join(text.split())) if len(s.strip()) > 20]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.choice(("drop", "swap", "double"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i] + word[i:]


def seed(count: int, rng: random.Random) -> None:
    from slugify import slugify

    from tiski.knowledge.demo import ARTICLES
    from tiski.knowledge.models import Article, ArticleTranslation

    pools: dict[str, tuple[list[str], list[str]]] = {}
    for language in ("fi", "en"):
        titles, sentences = [], []
        for spec in ARTICLES:
            text = spec.fi if language == "fi" else spec.en
            if text is not None:
                titles.append(text.title)
                sentences += _sentences(text.body)
        pools[language] = (titles, sentences)
    statuses = ["published"] * 16 + ["draft", "draft", "in_review", "archived"]
    visibilities = ["public"] * 7 + ["internal", "internal", "partners"]
    started = time.perf_counter()
    batch = 2_000
    for start in range(0, count, batch):
        n = min(batch, count - start)
        articles = Article.objects.bulk_create(
            [Article(visibility=rng.choice(visibilities), case_types=["question"]) for _ in range(n)]
        )
        translations = []
        for i, article in enumerate(articles):
            number = start + i
            language = "fi" if number % 2 else "en"
            titles, sentences = pools[language]
            product = rng.choice(PRODUCTS)
            title = f"{rng.choice(titles)}: {product}"[:200]
            body_sentences = rng.sample(sentences, rng.randint(6, 14))
            body_sentences.insert(
                rng.randrange(len(body_sentences)),
                f"{product} {rng.randint(100, 999)}-{rng.randint(10, 99)} {'koodi' if language == 'fi' else 'code'} "
                f"PP{rng.randint(10000, 99999)}.",
            )
            body = " ".join(body_sentences)
            translations.append(
                ArticleTranslation(
                    article=article,
                    language=language,
                    slug=f"{slugify(title, max_length=150)}-{number}",
                    title=title,
                    body_html=f"<p>{body}</p>",
                    body_text=body,
                    status=rng.choice(statuses),
                    version=1,
                )
            )
        ArticleTranslation.objects.bulk_create(translations)
    print(f"seeded {count} articles in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def query_mix(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Return COUNT searches: help-centre readers 60 %, agents 25 %, typos 15 %."""
    mix = []
    everyone = ("public", "partners", "internal")
    every_status = ("draft", "in_review", "published", "archived")
    for _ in range(count):
        language = rng.choice(("fi", "en"))
        queries = QUERIES_FI if language == "fi" else QUERIES_EN
        roll = rng.random()
        if roll < 0.60:
            mix.append({"query": rng.choice(queries), "language": language, "kind": "help centre"})
        elif roll < 0.85:
            words = rng.choice(queries).split()[:2]
            mix.append(
                {
                    "query": " ".join(words),
                    "language": None,
                    "visibilities": everyone,
                    "statuses": every_status,
                    "kind": "agent",
                }
            )
        else:
            words = rng.choice(queries).split()
            words[0] = _typo(words[0], rng)
            mix.append({"query": " ".join(words), "language": language, "kind": "typo"})
    return mix


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, transaction

    from tiski.knowledge.search import articles_search, search_reindex

    rng = random.Random(args.seed)
    index_seconds = None
    if not args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        seed(args.articles, rng)
        started = time.perf_counter()
        with transaction.atomic():
            indexed = search_reindex()
        index_seconds = time.perf_counter() - started
        print(f"indexed {indexed} language versions in {index_seconds:.1f} s", file=sys.stderr)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE knowledge_search_document")
                cursor.execute("VACUUM ANALYZE knowledge_search_word")
                cursor.execute("ANALYZE knowledge_articletranslation")
                cursor.execute("ANALYZE knowledge_article")
        else:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    if args.explain and connection.vendor == "postgresql":
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            articles_search("laskun eräpäivä", language="fi")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + captured.captured_queries[0]["sql"])
            print("\n".join(row[0] for row in cursor.fetchall()), file=sys.stderr)

    results = []
    for number in range(1, args.runs + 1):
        mix = query_mix(args.queries, random.Random(args.seed + number))
        for spec in mix[:50]:  # warm the caches
            articles_search(**{k: v for k, v in spec.items() if k != "kind"})
        latencies: list[float] = []
        by_kind: dict[str, list[float]] = {}
        empty = 0
        started = time.perf_counter()
        for spec in mix:
            t0 = time.perf_counter()
            hits = articles_search(**{k: v for k, v in spec.items() if k != "kind"})
            ms = (time.perf_counter() - t0) * 1000
            latencies.append(ms)
            by_kind.setdefault(spec["kind"], []).append(ms)
            empty += not hits
        elapsed = time.perf_counter() - started
        result = {
            "queries_per_s": round(len(mix) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 0.50), 2),
            "p95_ms": round(percentile(latencies, 0.95), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "empty_share": round(empty / len(mix), 3),
            "p95_by_kind_ms": {kind: round(percentile(values, 0.95), 2) for kind, values in by_kind.items()},
        }
        print(f"run {number}: {result}", file=sys.stderr)
        results.append(result)

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in results), 2)

    return {
        "benchmark": "kb_search",
        "db": args.db,
        "articles": args.articles,
        "queries": args.queries,
        "runs": args.runs,
        "index_build_s": round(index_seconds, 1) if index_seconds is not None else None,
        "queries_per_s": median("queries_per_s"),
        "p50_ms": median("p50_ms"),
        "p95_ms": median("p95_ms"),
        "p99_ms": median("p99_ms"),
        "empty_share": median("empty_share"),
        "p95_by_kind_ms": results[len(results) // 2]["p95_by_kind_ms"],
        "load": os.getloadavg()[0],
        "machine": machine(),
    }


def main() -> None:
    import json

    args = parse_args()
    result = django_bench(args, args.pg_name, run)
    print(
        f"{result['db']}: {result['articles']} articles, {result['queries_per_s']} queries/s, "
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
