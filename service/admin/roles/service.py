"""Role administration. Built-in roles cannot be changed; a custom role's new permissions apply
to the next request of every user holding it (every cached principal is invalidated)."""

from __future__ import annotations

from dataclasses import asdict

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.admin.audit.service import Actor, field_changes
from service.admin.roles import queries
from service.admin.roles.queries import RoleRow
from service.admin.roles.schemas import RoleCreate, RoleList, RoleOut, RoleUpdate
from service.infra import db
from service.kit.errors import ApiError, ErrorCode
from service.kit.principal_cache import PrincipalCache

TARGET_TYPE = "role"


async def list_roles() -> RoleList:
    return RoleList(items=[_role_out(row) for row in await queries.all_roles(db.connection())])


async def create_role(data: RoleCreate, actor: Actor) -> RoleOut:
    try:
        async with in_transaction() as conn:
            await queries.insert(conn, data.name, data.description)
            await queries.replace_permissions(conn, data.name, data.permissions)
            created = await queries.written_role(conn, data.name)
            changes = field_changes({}, _audited(created))
            await actor.record(conn, "role.create", (TARGET_TYPE, data.name), changes)
    except IntegrityError as exc:
        raise ApiError(ErrorCode.ROLE_EXISTS, f"A role named '{data.name}' exists.") from exc
    return _role_out(created)


async def update_role(
    name: str, data: RoleUpdate, actor: Actor, principals: PrincipalCache
) -> RoleOut:
    async with in_transaction() as conn:
        before = await queries.role(conn, name, lock=True)
        if before is None:
            raise ApiError(ErrorCode.NOT_FOUND, "No role has this name.")
        if before.builtin:
            raise ApiError(
                ErrorCode.ROLE_BUILTIN, f"'{name}' is a built-in role and cannot be changed."
            )
        wanted = data.model_dump(exclude_none=True)
        changes = field_changes(_audited(before), wanted)
        if "permissions" in changes:
            await queries.replace_permissions(conn, name, data.permissions)
        if "description" in changes:
            await queries.set_description(conn, name, changes["description"]["after"])
        if changes:
            await actor.record(conn, "role.update", (TARGET_TYPE, name), changes)
        after = await queries.written_role(conn, name)
    if "permissions" in changes:
        await principals.bump_everyone()
    return _role_out(after)


def _audited(row: RoleRow) -> dict[str, object]:
    fields = asdict(row)
    fields.pop("builtin")
    return fields


def _role_out(row: RoleRow) -> RoleOut:
    return RoleOut.model_validate(row, from_attributes=True)
