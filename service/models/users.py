from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model


class User(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    # Stored lower-cased, which makes the unique constraint case-insensitive.
    email = fields.CharField(max_length=320, unique=True)
    password_hash = fields.CharField(max_length=255)
    display_name = fields.CharField(max_length=100)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    roles: fields.ManyToManyRelation[Role] = fields.ManyToManyField(
        "models.Role",
        related_name="users",
        through="user_roles",
        forward_key="role_id",
        backward_key="user_id",
    )

    class Meta:
        table = "users"


class Permission(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    description = fields.CharField(max_length=255, default="")

    class Meta:
        table = "permissions"


class Role(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    description = fields.CharField(max_length=255, default="")
    is_builtin = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    permissions: fields.ManyToManyRelation[Permission] = fields.ManyToManyField(
        "models.Permission",
        related_name="roles",
        through="role_permissions",
        forward_key="permission_id",
        backward_key="role_id",
    )
    users: fields.ManyToManyRelation[User]

    class Meta:
        table = "roles"


class RefreshToken(Model):
    """One issued refresh token; tokens rotated from one login share a family."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    token_hash = fields.CharField(max_length=64, unique=True)
    family_id = fields.UUIDField(db_index=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refresh_tokens"


class AdminEmailListing(Model):
    """When each ADMIN_EMAILS address was first listed: the grant reaches only accounts that
    existed by then, never one registered afterwards by whoever got to the address first."""

    email = fields.CharField(max_length=320, primary_key=True)
    first_listed_at = fields.DatetimeField()

    class Meta:
        table = "admin_email_listings"
