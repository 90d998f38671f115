"""Audit the sign-ins and the changes of roles and permissions, wherever they are made (admin, shell, services).

Signals are the one place that sees every path: the console, the Django admin, `createsuperuser` and
migrations all change groups and flags through the ORM.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from tiski.audit.services import audit_record

FLAGS = ("is_staff", "is_superuser")


@receiver(user_logged_in, dispatch_uid="tiski.audit.login")
def _logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit_record(action="auth.login", actor=user, target=user, request=request)


@receiver(user_logged_out, dispatch_uid="tiski.audit.logout")
def _logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        audit_record(action="auth.logout", actor=user, target=user, request=request)


@receiver(user_login_failed, dispatch_uid="tiski.audit.login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = str(credentials.get(User.USERNAME_FIELD) or credentials.get("username") or "")
    # The label is what was typed: an existing account or not, never the password (Django masks it anyway).
    audit_record(action="auth.login_failed", actor=None, target_label=username[:150], request=request)


def _names(model: type[Group] | type[Permission] | type[User], pks: set[int] | None) -> list[str]:
    if not pks:
        return []
    if model is Permission:
        perms = Permission.objects.filter(pk__in=pks).select_related("content_type")
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms)
    if model is User:
        return sorted(User.objects.filter(pk__in=pks).values_list("username", flat=True))
    return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))


def _m2m_change(
    *, action: str, code: str, instance: Any, model: Any, pk_set: set[int] | None, reverse: bool, key: str
) -> None:
    """Record one m2m change; on `pre_clear` remember what is about to go, on `post_*` write the entry."""
    if action == "pre_clear":
        instance._audit_cleared = set(getattr(instance, key).values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        pk_set = getattr(instance, "_audit_cleared", set())
    if not pk_set:
        return
    verb = "added" if action == "post_add" else "removed"
    if reverse:  # group.user_set.add(user) or permission.group_set…: one entry per changed object
        for obj in model.objects.filter(pk__in=pk_set):
            audit_record(action=code, actor=None, target=obj, detail={verb: _names(type(instance), {instance.pk})})
    else:
        audit_record(action=code, actor=None, target=instance, detail={verb: _names(model, pk_set)})


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="tiski.audit.user_groups")
def _user_groups(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kw: Any) -> None:
    key = "user_set" if reverse else "groups"
    _m2m_change(
        action=action, code="role.change", instance=instance, model=model, pk_set=pk_set, reverse=reverse, key=key
    )


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="tiski.audit.group_permissions")
def _group_perms(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kw: Any) -> None:
    key = "group_set" if reverse else "permissions"
    _m2m_change(
        action=action, code="permission.change", instance=instance, model=model, pk_set=pk_set, reverse=reverse, key=key
    )


@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="tiski.audit.user_permissions")
def _user_perms(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kw: Any) -> None:
    key = "user_set" if reverse else "user_permissions"
    _m2m_change(
        action=action, code="permission.change", instance=instance, model=model, pk_set=pk_set, reverse=reverse, key=key
    )


@receiver(pre_save, sender=User, dispatch_uid="tiski.audit.user_flags_before")
def _flags_before(sender: Any, instance: User, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        instance._audit_flags = {}  # type: ignore[attr-defined]
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        instance._audit_flags = None  # type: ignore[attr-defined]
        return
    stored = User.objects.filter(pk=instance.pk).values(*FLAGS).first()
    instance._audit_flags = stored or {}  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="tiski.audit.user_flags_after")
def _flags_after(sender: Any, instance: User, created: bool, raw: bool = False, **kwargs: Any) -> None:
    before = getattr(instance, "_audit_flags", None)
    if raw or before is None:
        return
    changed = {
        flag: {"old": before.get(flag, False), "new": getattr(instance, flag)}
        for flag in FLAGS
        if before.get(flag, False) != getattr(instance, flag)
    }
    if changed:
        audit_record(action="role.change", actor=None, target=instance, detail=changed)
