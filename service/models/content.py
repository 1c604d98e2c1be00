from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from service.models.users import User


class ContentKind(StrEnum):
    LESSON = "lesson"
    EXERCISE = "exercise"
    DRILL = "drill"


class Difficulty(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class ContentStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tags"


class Content(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    slug = fields.CharField(max_length=160, unique=True)
    title = fields.CharField(max_length=200)
    summary = fields.CharField(max_length=1000, default="")
    body = fields.TextField(default="")
    kind = fields.CharEnumField(ContentKind, max_length=16)
    category = fields.CharField(max_length=64)
    difficulty = fields.CharEnumField(Difficulty, max_length=16)
    duration_minutes = fields.IntField()
    status = fields.CharEnumField(ContentStatus, max_length=16, default=ContentStatus.DRAFT)
    published_at = fields.DatetimeField(null=True)
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="authored_content", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField(
        "models.Tag",
        related_name="content",
        through="content_tags",
        forward_key="tag_id",
        backward_key="content_id",
    )

    class Meta:
        table = "content"
