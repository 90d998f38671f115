"""Threading under fuzzing: [TSK-n] tokens, In-Reply-To and References never crash the pipeline, and a mail only
ever continues a case it references: by a Message-ID of the case, or by the case's token from its own customer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiski.cases.models import Message
from tiski.cases.references import case_pk_from_reference, reference_tokens_find
from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.email.parsing import email_parse
from tiski.customers.models import Identity

SENDERS = ["anssi@example.com", "liisa@example.org", "uusi@example.net"]
tokens = st.one_of(
    st.text(max_size=20),
    st.builds("[TSK-{}]".format, st.integers(-5, 10**13)),
    st.builds("[tsk-{}]".format, st.integers(0, 2000)),
    st.sampled_from(["[TSK-]", "[TSK-1042", "TSK-1042]", "[TSK-0001042]", "[TSK-1042][TSK-1043]", "[TSK- 1]"]),
)


@given(subject=st.text(max_size=40) | st.lists(tokens, max_size=3).map(" ".join))
def test_a_reference_token_is_found_only_as_a_whole_token_and_maps_to_a_case_number(subject: str) -> None:
    found = reference_tokens_find(subject)
    assert len(found) == len(set(found))
    for token in found:
        assert f"[{token}]".casefold() in subject.casefold()
        pk = case_pk_from_reference(token)
        assert pk is None or pk > 0


def mail(*, sender: str, subject: str, in_reply_to: str, references: str, number: int) -> bytes:
    """Return a mail with the headers as given (fuzzed text included, CR and LF made spaces)."""

    def clean(text: str) -> str:
        return text.replace("\r", " ").replace("\n", " ")

    lines = [f"From: {sender}", "To: tuki@pyora.example", f"Subject: {clean(subject)}"]
    lines.append(f"Message-ID: <fuzz-{number}@example.com>")
    if in_reply_to:
        lines.append(f"In-Reply-To: {clean(in_reply_to)}")
    if references:
        lines.append(f"References: {clean(references)}")
    lines += ["Content-Type: text/plain; charset=utf-8", "", "Hei, vielä yksi asia."]
    return "\r\n".join(lines).encode("utf-8", "surrogatepass")


@pytest.mark.django_db
def test_a_mail_continues_only_a_case_it_references(mailbox) -> None:  # type: ignore[no-untyped-def]
    seeded = [
        email_receive(raw=mail(sender=s, subject=f"Aihe {s}", in_reply_to="", references="", number=i), mailbox=mailbox)
        for i, s in enumerate(SENDERS[:2])
    ]
    known_ids = [str(r.receipt.message.external_id) for r in seeded if r.receipt]
    known_refs = [r.receipt.case.reference for r in seeded if r.receipt]
    counter = iter(range(100, 10**6))
    ids = st.sampled_from([*known_ids, "<nope@example.com>", "", "<>", "garbage", "<a@b> <c@d>"])

    @given(
        sender=st.sampled_from(SENDERS),
        reference=st.sampled_from(["", *known_refs, "TSK-999999", "TSK-0", "TSK-1"]),
        noise=st.text(max_size=15),
        in_reply_to=ids | st.text(max_size=30),
        references=st.lists(ids, max_size=3).map(lambda items: " ".join(items)),
    )
    def check(sender: str, reference: str, noise: str, in_reply_to: str, references: str) -> None:
        subject = f"Re: [{reference}] {noise}" if reference else f"Re: {noise}"
        raw = mail(sender=sender, subject=subject, in_reply_to=in_reply_to, references=references, number=next(counter))
        result = email_receive(raw=raw, mailbox=mailbox, source="fuzz")
        if result.outcome is Outcome.QUARANTINED:
            return
        assert result.outcome is Outcome.STORED and result.receipt is not None
        if result.receipt.case_created:
            return
        case = result.receipt.case
        parsed = email_parse(raw)
        by_message_id = Message.objects.filter(
            case=case, external_id__in=[*parsed.in_reply_to, *parsed.references]
        ).exclude(pk=result.receipt.message.pk)
        tokens = reference_tokens_find(parsed.subject)
        sender_customer_id = Identity.objects.get(kind="email", value=sender).customer_id
        # A token threads only onto a case of the sender's own; a Message-ID onto the case of that message.
        by_token = case.pk in {case_pk_from_reference(t) for t in tokens} and case.customer_id == sender_customer_id
        assert by_message_id.exists() or by_token, (subject, in_reply_to, references, case.reference)

    check()
