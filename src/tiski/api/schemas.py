"""Schemas shared by the API's routers: references to related objects, errors, input types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.contrib.auth.models import User
from ninja import Field, Schema

from tiski.cases.models import Case

# The default of a PATCH field: the field is left out, so it stays as it is. Null is refused for it.
OMITTED: Any = None

MAX_ID = 2**53 - 1  # safe in JavaScript and in every database's integer column
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]

IdentityKind = Literal["email", "phone", "chat", "sms", "whatsapp", "messenger", "instagram", "other"]
CaseStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
TierName = Literal["standard", "silver", "gold", "vip"]
CaseType = Literal["question", "incident", "problem", "task", "complaint"]

PRIORITY_BY_NAME: dict[str, int] = {choice.name.lower(): int(choice.value) for choice in Case.Priority}
PRIORITY_NAME: dict[int, str] = {value: name for name, value in PRIORITY_BY_NAME.items()}


class ErrorOut(Schema):
    detail: str = Field(description="What went wrong, as a sentence for a person.")
    code: str = Field(description="A stable machine-readable code, e.g. case_closed or validation_error.")


def _documented_as_in(schema: dict[str, Any]) -> None:
    """Name the property "in" in the OpenAPI document, as it is sent (the document is generated without aliases)."""
    properties = schema.get("properties", {})
    if "where" in properties:
        schema["properties"] = {("in" if name == "where" else name): value for name, value in properties.items()}
        schema["properties"]["in"]["title"] = "In"
        schema["required"] = ["in" if name == "where" else name for name in schema.get("required", [])]


class FieldErrorOut(Schema):
    model_config = {"json_schema_extra": _documented_as_in}

    where: str = Field(alias="in", description="body, query or path.")
    field: str = Field(description="The field, dotted for nested fields (identities.0.value).")
    message: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldErrorOut] = Field(description="One entry per invalid field.")


class IdentityTakenOut(ErrorOut):
    customer_id: int = Field(description="The customer who owns the identity already.")


class UserRef(Schema):
    id: int
    username: str
    name: str = Field(description="Full name, or the username when none is set.")

    @staticmethod
    def resolve_name(obj: User) -> str:
        return obj.get_full_name() or obj.get_username()


class TeamRef(Schema):
    id: int
    name: str


class ChannelRef(Schema):
    id: int
    kind: str = Field(description="email, webform, chat, phone, sms, whatsapp, messenger or instagram.")
    name: str


class CustomerRef(Schema):
    id: int
    name: str


class CategoryRef(Schema):
    id: int
    name: str


def user_ref(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "name": user.get_full_name() or user.get_username()}


# What any operation may answer: 400 for a body or query the parser refuses (not JSON, a NUL character: see
# tiski.api.parser), 401 and 403 for the token, 422 for invalid input.
AUTH_ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}
