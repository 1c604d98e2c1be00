"""Indexes for the hot queries, each named after what it serves (docs/indexes.md has the plans).

Built CONCURRENTLY so a live database keeps taking writes: that cannot run inside a transaction,
nor as one multi-statement script (PostgreSQL wraps those in an implicit transaction), so upgrade
runs the statements one by one and hands Aerich nothing left to run. Aerich runs a downgrade in a
transaction whatever RUN_IN_TRANSACTION says, so the downgrade uses plain DROP INDEX.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = False

INDEXES = {
    # History: the caller's sessions, newest first (keyset on started_at, id).
    "idx_sessions_user_started": (
        "practice_sessions (user_id, started_at DESC, id DESC)"
    ),
    # Session limit: counting a user's active sessions.
    "idx_sessions_user_active": (
        "practice_sessions (user_id) WHERE status = 'active'"
    ),
    # Joins and the RESTRICT check when content is deleted.
    "idx_sessions_content": "practice_sessions (content_id)",
    # event_count per session, and events of a session.
    "idx_session_events_session": "session_events (session_id, created_at)",
    # Public list, newest published first.
    "idx_content_published": (
        "content (published_at DESC, id DESC) WHERE status = 'published'"
    ),
    # Public list filtered by category.
    "idx_content_category_published": (
        "content (category, published_at DESC, id DESC) WHERE status = 'published'"
    ),
    # Full-text search; the expression must stay identical to the one the queries use.
    "idx_content_search": (
        "content USING GIN (to_tsvector('english', title || ' ' || summary))"
    ),
    # Admin list, newest created first, optionally by status.
    "idx_content_created": "content (created_at DESC, id DESC)",
    "idx_content_status_created": "content (status, created_at DESC, id DESC)",
    # Tag filter and tag counts: content of a tag (the unique index leads with content_id).
    "idx_content_tags_tag": "content_tags (tag_id, content_id)",
    # Refresh tokens of a user (cascading deletes, revocation).
    "idx_refresh_tokens_user": "refresh_tokens (user_id)",
    # Expiring old idempotency keys.
    "idx_idempotency_keys_created": "idempotency_keys (created_at)",
    # Audit log, newest first, and by actor.
    "idx_audit_created": "audit_records (created_at DESC, id DESC)",
    "idx_audit_actor_created": "audit_records (actor_id, created_at DESC, id DESC)",
    "idx_audit_action_created": "audit_records (action, created_at DESC, id DESC)",
}


async def upgrade(db: BaseDBAsyncClient) -> str:
    for name, definition in INDEXES.items():
        # An interrupted CONCURRENTLY build leaves an INVALID index behind; start afresh.
        await db.execute_script(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        await db.execute_script(f'CREATE INDEX CONCURRENTLY "{name}" ON {definition}')
    return "SELECT 1"


async def downgrade(db: BaseDBAsyncClient) -> str:
    return "\n".join(f'DROP INDEX IF EXISTS "{name}";' for name in INDEXES)


MODELS_STATE = (
    "eJztXWtv4rga/isRn2alOVVLO7TbXR2JS2aGMxQqSOeMdruKDDFgNRc2l3bQnv73Y4fcnD"
    "ghgUBD6i8t2H4T+3ltv1ebfxqaoUDVOruHpoYsCxl641b4p6EDDeIPjNqPQgOsVmEdKbDB"
    "VHWbr4J2bjmYWrYJZjaumgPVgrhIgdbMRCt78yLdUVVSaMxwQ6QvwiJHR387ULaNBbSX0M"
    "QVf/6Fi5GuwJ/Q8r+unuQ5gqpC9Rkp5N1uuWyvV25ZX7c/uw3J26byzFAdTQ8br9b20tCD"
    "1ki3SekC6tAENiSPt02HdJ/0zhusP6JNT8Mmmy5GaBQ4B45qR4Y7lcOyhiwPR5I8ESVZbh"
    "QAaIYxxuDirlru6BekC/9qXlxdX91ctq5ucBO3m0HJ9evm1SEwG0IXnqHUeHXrgQ02LVyM"
    "Q1Dd/wlYu0tgsnH128eQxV2OI+vjWF1oNfBTVqG+sJf4a+sqA8fv7XH3a3v8oXX1C3mhgS"
    "f/ZmEMvZqmW0WgDqGNdqsAwjGycoD2C0Kkw4UbwNo4CtDNT59yII1bpULt1r2+ko1i/hSZ"
    "1aRgCmZPL8BU5ESN0TTS2iartKbGXC6moUIryc07oK8lg/x1edrHwwf6jLVQvI13jJ9zcg"
    "vm1Z+qfmn4fndYcky6+IM0oUqGGFTHpMncMF0uPMG1D7G82b4DBnlVIaHXwF6ahrNYBmSx"
    "J+N2uCPQ3qy49qTb7omkXI5LAHcuaUAHC7eIDP/1YzgOODehtZSMJ8iUolR9phw1Ny2x+M"
    "NN84nSxkiHAh6TAxXBIxdc8t82/yzBNGwyFGFuGppg4NaqsUC6YOEdBgoAP1ZD6vqsEWNx"
    "mc8tWag/PPR7BaS64yDljNAcZkE1fp87+oxwQ3DfRP5c/ftQe2XG1ujui5ctd1tcGZa9MN"
    "1KF64tUt7lqLwE1rKIJKKpuMTfKvE3S0IuNqcpojKndlLmv4Gw2Gkih4jCnyuEa2VgJyHt"
    "YSxspEE2rDRlDFfFIz3zPxxKp3obgKX+nTiR2nf35PGaZf2tuni1JZHUNN3Sdaz0Qys20Y"
    "OHCP/tS18F8lX4YzQU41wL2kl/NEifgGMbsm68yECJYuIX+0UUmx0LqwfFeRwhK4HB3urg"
    "/C2fvyZ8xrJkFxbTlJzLVebyzISunl+cyzRlDTdrPI+BMtLVtTcDT4Tt3mLZtnebBVWeCM"
    "lhFZ6qLOUtGk/Ck0Gjm4T2s2FCtNC/wbz+hgfvMacJKcvjYIKXwJyMTiimzf96MNdQtuPA"
    "cFFNOgw8x0iGo8D3M3FXO3e1c8O7wV3tb+pqj2KNLHnqINVGDKg7Bt63gJ6yT1CEMbCnmP"
    "JQaAclxxX6ndFoQOlwnb4Uw/nhriOOP1y48ONGaCO1/K2Ea9bvT7N+i6BWPB6zX2iLzik4"
    "KTFVNMBFDzUe5gpjhXSAKxHFioe5IhGwMgJcbJOtDFbvalWcFJP9QeZlb8QWycdYlyB4Wk"
    "kxS7fXDNPDH0266RFMjuqYHjwgWHZAEGoAqUVU5YCgdtbIZfM8h5KMW6UqyW4drbCtgGW9"
    "GHjlF425JgiPZ5QcDfGDmCUKslYqWMtFrew4XQ3xvjjPM8Nxq1S83bqEGYhlA3pmgL3NCg"
    "zpjmgE+hsMtwG5DVhxG5BS1VfKjlynKTnXq8J1Rig1UOdzWv7RwHo8oTC2FXv0n7+NifnC"
    "dnSmpDGe2HRIs+uo5YRBXxomXhW4mQ11xqIqglg3fMhJZh1kY4UUqK0MPMDZmhiwe86ufv"
    "i0b9garun8WhGDGc2gbME0h1oR0O69x03gzg61U0ANOAqyZRPOsOGzJ2Jt8qix+6QaLUt+"
    "fqFK5xdC92nukwsRp+B+nr8wSpDq+vOlEsP7FxFY6Q7AiGjkLsD6ugAt1VkUcZT47WvnAL"
    "xo5XKPtDLcI62Ee8RGtlrIDxUQ1NAB1czlgGpmOKCaSQeU5WgaMNeFpnBIUrtcj4vzvF6+"
    "TDdfAuapoTAwluDPlGwwv30NAM5yKIg/JMqX4IP44a794xfKnzAYDb/4zSOgdwejTgzqJz"
    "xK9nQWdUdLaGYU7D5tlXePxkCcTEbDWwErPJahP+riD3Hc7U/EWwG/xZwhCz7qvXF/MLgV"
    "FBOpri+4+G6eazPP2MvjK2CGgVsYxXaaKE2VWVKdDD40n6MZ7nIKzNtXAP2EKoPe6Ihf+s"
    "OhOL4VpnCBdNynR70/lMTxndjrtyW8HjDs0NSggnBnH/V273t72BV7twJQnsnglWqsDMUx"
    "XXNc1pDu2CzDMjVpmEW6PYX4FBZKKVnEETXHBrbDQDbfogipjyiPFRPM7YJCudEbtz9LZN"
    "/HtI/6/UNn0J98JVN+5UxVZC2rMueD7uwQkonT8uNs1YnB8ONs9Q+98YDre+R6WsA1GRcs"
    "eIyRItrDAXk6e/ju5xg3WCXRPdRJxmpiuvUgIzWlqIAA7oEwfBgMss4y8jhkYQaUF1qzwa"
    "KMyJoEFifnTy8aWPPGGI+rRXMy6MgaxjYlsObRJGNrfoXPlrKia6TvjMiaN6T0qJrfj+qE"
    "1PiBXn6gt6ruQG57pUN/mlp4lQ48pib/FZbW+TMAq7V+i0rsyDjjUjvQe2iRTQvmuNgOBf"
    "q+Inv7UbhY5iFDeCdzE9PlOCsrcvslntISCnNkWrYAdOsFmoJtCEDA9O7tm3hCWPZH/IGc"
    "RMEluNKEmIHQEoy5gGW9YOEO+w2TV3mW/nSGpvFncBUNYeFf+ygeHbR4L7rHr83m5eV18/"
    "yydfPp6vr60815oIQkq7K0kU7/C1FIqJ15u4byBAtFLb3mVY6d7ZqBcogjZ96KKXzGL05X"
    "Q7zL1wixlrHCb4RyWkBsogFVTd1XGOR1CjdeNq9bwc5CvmTtJZO79mCQjDQGELFTfv4zGQ"
    "23YJuS+6OgmS38T1CRdYoIZwBJIKFU60QWUDzhJ6YzkwfEs4C46ZM+2etl+vBbFI8VfeC3"
    "KOYJPlT0FsV48IH1O0bJ+ETGjxmxYiPVccvykw6ln3Q4vRSq8IqEIjlU7a7U/y7eChvqR7"
    "07ursfiBLJopoZ2oqsZ+VRb3fawx6WYiSdcAp0xdArk1tlGoSthZX7KN3xtPrz6qv0usHM"
    "ykzP3g8IePp+4fR9a4b1CYaWoRogBe2AIob2nJDkwLuaSQ4swHujh85AFO7HYrc/6XtWU6"
    "B/u5WkKLz/ZCy2B8lMWHM3w4imrKFhdCKGUK60S4gh3IXJUTqeWFtlDge5/xbEo2Sd+N9+"
    "bCBCupPErxh7yz41wLNY06E+TSdSnixWOuaa16ykqbgrKb6UuGeOe+YOC+n+njnGLlACqn"
    "tkt5wIsPTeR2E7xrvxuN+V8iVcw2dIXp3AvEiWtee9FJ/rhfm+KdaZzmEKM4ZnOI5pulvY"
    "8wbLISer4xPmGTOk7igZM6l3MKSkzJzAvQuVyeEgqCfBTU8s8NsfP58gEvbwfrPGOiOvfY"
    "vIB88y4AYi1W73LANfxhUzZ2gqbtFkWzRWGIPeU/2u76m7uBpOz7AqJR9E7xNlqJex60bT"
    "tcvEFadcuXx/yiWYFf2FwpCCK5g5FEwbmHhNbEAqgHKMrIZQXzZzQH3ZzPiJmxSoWRvKVq"
    "CZu0odYD7EL5vaAKkMx1KG1RSScMOpdMPJP7xRbOLTVDvN/KpFLOlcsOZNnmSw5k16Nhip"
    "4zYqt1GxylP8Jp4IDb+IJ/siHgLV8SJu1YR0+z08kQlV+Bqeg9qj0ESzZYNlim5qPmZaoW"
    "Gbypif78X2PNg1JM/QZDuc0tWRCEkNtfCDHPYli6oAwl7zGqJ7kF+TTM1ZSDdzIiT8vGlB"
    "g+Z4l64whNnr/wHLZxWy"
)
