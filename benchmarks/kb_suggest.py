#!/usr/bin/env python3
"""Suggestion benchmark: the articles suggested for a case, per case, over 50,000 articles; and their recall@3.

1. The demo company's knowledge base is written as `tiski demo` writes it, and recall@1/@3 is measured on the
   labelled set built from the demo data (tiski.knowledge.evaluation: 80 questions in Finnish and English).
2. N more articles (default 50,000; --quick 5,000) are seeded as benchmarks/kb_search.py seeds them (the demo
   articles' sentences recombined, 80 % published, 70 % public, half Finnish, half English) and the index is
   rebuilt.
3. C cases (default 1,000; --quick 200) arrive through the real pipeline on the web form — the labelled
   questions and the demo's other conversations, with a second message on a third of them — and
   suggestions_for_case() runs for each: reading the case's subject and newest customer messages, the
   full-text search in the case's language (the best 30 of any of its words), and the ranking by category,
   type, tags and past success. That call is what the case page's knowledge panel waits for.

    python benchmarks/kb_suggest.py [--quick] [--db sqlite|postgres] [--articles N] [--cases N] [--runs N]

Latency is each call's wall time in this process, single client. The last line printed is one JSON object
(medians over runs).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from typing import Any

from benchlib import database_arguments, django_bench, machine, percentile
from kb_search import seed

PG_BENCH_DB = "tiski_bench_kb_suggest"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_arguments(parser, pg_name=PG_BENCH_DB)
    parser.add_argument("--quick", action="store_true", help="5,000 articles, 200 cases, 1 run")
    parser.add_argument("--articles", type=int, help="articles to seed (default 50,000; 5,000 with --quick)")
    parser.add_argument("--cases", type=int, help="cases to suggest for (default 1,000; 200 with --quick)")
    parser.add_argument("--runs", type=int, help="runs to take the median of (default 3; 1 with --quick)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    args.articles = args.articles or (5_000 if args.quick else 50_000)
    args.cases = args.cases or (200 if args.quick else 1_000)
    args.runs = args.runs or (1 if args.quick else 3)
    return args


def cases_create(count: int, rng: random.Random) -> list[int]:
    """Receive COUNT contacts on the web form (the labelled questions and the demo's conversations); return ids."""
    from tiski.cases.models import Case
    from tiski.channels.interface import InboundMessage
    from tiski.channels.models import Channel, ChannelKind
    from tiski.channels.services import message_receive
    from tiski.core import demo as core_demo
    from tiski.customers.models import Customer
    from tiski.customers.services import Handle
    from tiski.knowledge.evaluation import questions

    form = Channel.objects.filter(kind=ChannelKind.WEBFORM).first() or Channel.objects.create(
        kind=ChannelKind.WEBFORM, name="Contact form", address="tuki@example.fi"
    )
    texts = [(q.language, q.subject or q.text[:60], q.text) for q in questions()]
    for scenario in core_demo.SCENARIOS:
        for language in ("fi", "en"):
            script = getattr(scenario, language)
            product = rng.choice(core_demo.PRODUCTS[language])
            texts.append((language, script.subject, script.inbound.format(product=product, order="10442", first="")))
    ids = []
    started = time.perf_counter()
    for n in range(count):
        language, subject, text = texts[n % len(texts)]
        receipt = message_receive(
            inbound=InboundMessage(
                channel=form,
                handles=[Handle("email", f"bench{n}@example.fi")],
                subject=subject,
                body_text=text,
                sender_name=f"Asiakas {n}",
            )
        )
        if n % 3 == 0:
            message_receive(
                inbound=InboundMessage(
                    channel=form,
                    handles=[Handle("email", f"bench{n}@example.fi")],
                    subject=f"Re: {subject}",
                    body_text=rng.choice(texts)[2],
                    sender_name=f"Asiakas {n}",
                    case_reference=receipt.case.reference,
                )
            )
        Customer.objects.filter(pk=receipt.case.customer_id).update(language=language)
        ids.append(receipt.case.pk)
    print(f"received {count} cases in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    assert Case.objects.filter(pk__in=ids).count() == count
    return ids


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection, transaction

    from tiski.cases.models import Case
    from tiski.core.demo import demo_base_ensure
    from tiski.knowledge.demo import demo_knowledge_create
    from tiski.knowledge.evaluation import recall_at
    from tiski.knowledge.search import search_reindex
    from tiski.knowledge.suggestions import suggestions_for_case

    rng = random.Random(args.seed)
    if not args.reuse:
        call_command("migrate", verbosity=0)
        base = demo_base_ensure()
        demo_knowledge_create(users=base.users, case_categories=base.categories)
    recall: dict[str, Any] = {"recall_at_1": None, "recall_at_3": None, "labelled_questions": None}
    if not args.reuse:  # on the demo's knowledge base alone, before the seeded articles crowd it
        at_1, at_3 = recall_at(1), recall_at(3)
        recall = {
            "recall_at_1": round(at_1.recall, 3),
            "recall_at_3": round(at_3.recall, 3),
            "labelled_questions": at_3.questions,
        }
        print(f"recall@1 {at_1.recall:.3f}, recall@3 {at_3.recall:.3f} on {at_3.questions} questions", file=sys.stderr)
        for name, others in at_3.misses:
            print(f"  miss@3 {name}: {others}", file=sys.stderr)
    if not args.reuse:
        seed(args.articles, rng)
        started = time.perf_counter()
        with transaction.atomic():
            indexed = search_reindex()
        print(f"indexed {indexed} language versions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        ids = cases_create(args.cases, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        ids = list(Case.objects.order_by("-id").values_list("pk", flat=True)[: args.cases])

    results = []
    for number in range(1, args.runs + 1):
        order = ids[:]
        random.Random(args.seed + number).shuffle(order)
        for pk in order[:30]:  # warm the caches
            suggestions_for_case(Case.objects.select_related("customer").get(pk=pk))
        latencies: list[float] = []
        empty = 0
        started = time.perf_counter()
        for pk in order:
            case = Case.objects.select_related("customer").get(pk=pk)  # the case page has it already
            t0 = time.perf_counter()
            found = suggestions_for_case(case)
            latencies.append((time.perf_counter() - t0) * 1000)
            empty += not found
        elapsed = time.perf_counter() - started
        result = {
            "cases_per_s": round(len(order) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 0.50), 2),
            "p95_ms": round(percentile(latencies, 0.95), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "empty_share": round(empty / len(order), 3),
        }
        print(f"run {number}: {result}", file=sys.stderr)
        results.append(result)

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in results), 2)

    return {
        "benchmark": "kb_suggest",
        "db": args.db,
        "articles": args.articles,
        "cases": args.cases,
        "runs": args.runs,
        **recall,
        "cases_per_s": median("cases_per_s"),
        "p50_ms": median("p50_ms"),
        "p95_ms": median("p95_ms"),
        "p99_ms": median("p99_ms"),
        "empty_share": median("empty_share"),
        "load": os.getloadavg()[0],
        "machine": machine(),
    }


def main() -> None:
    import json

    args = parse_args()
    result = django_bench(args, args.pg_name, run)
    print(
        f"{result['db']}: recall@3 {result['recall_at_3']} ({result['labelled_questions']} questions); "
        f"{result['articles']} articles, {result['cases_per_s']} cases/s, p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
