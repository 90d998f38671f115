"""Suggestion quality on the labelled set built from the demo data (tiski.knowledge.evaluation): recall@3.

The demo company's knowledge base is written as `tiski demo` writes it; 80 customer questions in Finnish and
English (the demo's conversations, and the same questions in other words) are asked as cases would ask them.
The floors sit a little under what is measured (docs/benchmarks.md) so that a real regression fails.
"""

from __future__ import annotations

import pytest

from tiski.core.demo import demo_base_ensure
from tiski.knowledge.demo import demo_knowledge_create
from tiski.knowledge.evaluation import questions, recall_at

pytestmark = pytest.mark.django_db


def test_the_labelled_set_covers_each_answered_scenario_in_both_languages() -> None:
    asked = questions()
    assert len(asked) == 80
    assert {q.language for q in asked} == {"fi", "en"}
    assert len({q.name.split("-")[0] for q in asked}) == 10


def test_recall_at_3_on_the_demo_knowledge_base() -> None:
    base = demo_base_ensure()
    demo_knowledge_create(users=base.users, case_categories=base.categories)

    at_1, at_3 = recall_at(1), recall_at(3)

    assert at_3.recall >= 0.9, at_3.misses
    assert at_1.recall >= 0.75, at_1.misses
    assert at_3.hits >= at_1.hits
