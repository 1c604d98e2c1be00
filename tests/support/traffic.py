"""Members practising against a served process while a test breaks something: each member starts
a session, completes it, and starts the next, concurrently. Every answer is kept (status, time
taken) with the ids of the writes acknowledged with a 2xx, to be looked for afterwards."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from tests.support.api import LOGIN, REGISTER, SESSIONS

# A request the server left hanging counts as status 0 once the client gives up.
CLIENT_TIMEOUT_SECONDS = 15.0
GAVE_UP = 0
POLL_SECONDS = 0.05
SIGN_UP_ATTEMPTS = 5
MEMBER_PASSWORD = "practice every day"  # noqa: S105 - a test account's password


@dataclass
class Answer:
    status: int
    seconds: float
    started: float

    @property
    def ended(self) -> float:
        return self.started + self.seconds


@dataclass
class Member:
    token: str
    # Sessions started (201) but not yet acknowledged as completed.
    open_sessions: list[str] = field(default_factory=list)


@dataclass
class Traffic:
    """What the members saw: every answer, and the writes acknowledged."""

    answers: list[Answer] = field(default_factory=list)
    started_ids: list[str] = field(default_factory=list)
    completed_ids: list[str] = field(default_factory=list)

    def statuses(self) -> Counter[int]:
        return Counter(answer.status for answer in self.answers)

    def slowest(self) -> float:
        return max((answer.seconds for answer in self.answers), default=0.0)

    def acknowledged(self) -> int:
        return len(self.started_ids) + len(self.completed_ids)

    def since(self, moment: float) -> list[Answer]:
        return [answer for answer in self.answers if answer.started >= moment]


async def sign_up_members(base_url: str, count: int) -> list[Member]:
    async with httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT_SECONDS) as http:
        return [await _sign_up(http) for _ in range(count)]


async def _sign_up(http: httpx.AsyncClient) -> Member:
    email = f"member-{uuid.uuid4().hex[:12]}@example.com"
    account = {"email": email, "password": MEMBER_PASSWORD, "display_name": "Member"}
    registered = await _retrying_503(http, REGISTER, account)
    assert registered.status_code == 201, registered.text
    login = await _retrying_503(http, LOGIN, {"email": email, "password": MEMBER_PASSWORD})
    assert login.status_code == 200, login.text
    return Member(login.json()["access_token"])


async def _retrying_503(http: httpx.AsyncClient, path: str, body: object) -> httpx.Response:
    """As a client told ``Retry-After`` would: the servers under test have tiny pools and
    waits, which a loaded machine can exceed while hashing passwords."""
    for _ in range(SIGN_UP_ATTEMPTS - 1):
        response = await http.post(path, json=body)
        if response.status_code != 503:
            return response
        await asyncio.sleep(POLL_SECONDS)
    return await http.post(path, json=body)


class Practice:
    """``async with Practice(...) as traffic``: members practise until the block ends."""

    def __init__(self, base_url: str, members: list[Member], content_slug: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=CLIENT_TIMEOUT_SECONDS,
            limits=httpx.Limits(max_connections=len(members) + 4),
        )
        self.members = members
        self.content_slug = content_slug
        self.traffic = Traffic()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Traffic:
        self._tasks = [asyncio.create_task(self._practise(member)) for member in self.members]
        return self.traffic

    async def __aexit__(self, *_: object) -> None:
        self._stopping.set()
        await asyncio.gather(*self._tasks)
        await self.http.aclose()

    async def _practise(self, member: Member) -> None:
        while not self._stopping.is_set():
            if member.open_sessions:
                await self._complete(member)
            else:
                await self._start(member)
            await asyncio.sleep(0)  # let the other members and the test run

    async def _start(self, member: Member) -> None:
        headers = {"Authorization": f"Bearer {member.token}", "Idempotency-Key": str(uuid.uuid4())}
        body = {"content_slug": self.content_slug}
        response = await self._send("POST", SESSIONS, headers=headers, json=body)
        if response is not None and response.status_code == 201:
            session_id = response.json()["id"]
            self.traffic.started_ids.append(session_id)
            member.open_sessions.append(session_id)

    async def _complete(self, member: Member) -> None:
        session_id = member.open_sessions[0]
        headers = {"Authorization": f"Bearer {member.token}"}
        path = f"{SESSIONS}/{session_id}/complete"
        response = await self._send("POST", path, headers=headers, json={"score": 80})
        if response is None:
            return
        if response.status_code == 200:
            self.traffic.completed_ids.append(session_id)
        if response.status_code in (200, 409):
            # 409: an earlier attempt completed it although its answer was lost.
            member.open_sessions.pop(0)

    async def _send(
        self, method: str, path: str, headers: dict[str, str], json: object
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await self.http.request(method, path, headers=headers, json=json)
        except httpx.TimeoutException:
            self.traffic.answers.append(Answer(GAVE_UP, time.monotonic() - started, started))
            return None
        seconds = time.monotonic() - started
        self.traffic.answers.append(Answer(response.status_code, seconds, started))
        return response


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> float:
    """Poll ``check`` until it holds; the seconds that took, failing past ``within``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within}s")
        await asyncio.sleep(POLL_SECONDS)  # polling with a deadline
    return time.monotonic() - started
