"""Argon2 runs on a small pool of its own: a flood of hashes queues there, and the rest of the
server (the default executor included) keeps its threads."""

from __future__ import annotations

import asyncio

from service.kit import security


def test_a_flood_of_hashes_leaves_the_default_executor_free() -> None:
    async def flood() -> tuple[bool, int]:
        hashes = [
            asyncio.ensure_future(security.hash_password_off_loop("a password")) for _ in range(12)
        ]
        other_work = asyncio.ensure_future(asyncio.to_thread(lambda: "done"))
        done, _ = await asyncio.wait([other_work, *hashes], return_when=asyncio.FIRST_COMPLETED)
        pending_hashes = sum(not h.done() for h in hashes)
        await asyncio.gather(*hashes)
        return other_work in done, pending_hashes

    finished_first, pending = asyncio.run(flood())
    assert finished_first
    assert pending >= 12 - security.PASSWORD_HASHING_THREADS


def test_hashes_made_on_the_pool_verify() -> None:
    async def round_trip() -> tuple[bool, bool, bool]:
        digest = await security.hash_password_off_loop("a password")
        right = await security.verify_password_off_loop(digest, "a password")
        wrong = await security.verify_password_off_loop(digest, "another")
        missing = await security.verify_password_off_loop(None, "a password")
        return right, wrong, missing

    assert asyncio.run(round_trip()) == (True, False, False)
