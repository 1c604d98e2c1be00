"""The FastAPI baseline (run by uvicorn from the venv bench/baselines/fastapi.txt describes, never
the project's): ``GET /hello`` answering a small JSON body, and ``GET /redis`` answering a 2 KB
JSON value read with one Redis GET (redis.asyncio, the service's client and version). The value is
stored under ``BASELINE_REDIS_KEY`` at start-up and deleted at shutdown.

    REDIS_URL=redis://127.0.0.1:6379/0 BASELINE_REDIS_KEY=k \\
        python -m uvicorn fastapi_app:app --app-dir bench/baselines --port 8100 --no-access-log
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI  # type: ignore[import-not-found]  # installed in the baseline venv only
from fastapi.responses import Response  # type: ignore[import-not-found]
from redis.asyncio import Redis

HELLO = {"message": "hello"}
VALUE_BYTES = 2048
VALUE = ('{"value":"' + "x" * (VALUE_BYTES - len('{"value":""}')) + '"}').encode()
STORED_SECONDS = 3600  # the bench deletes it at shutdown; this bounds a crash's leftover

redis = Redis.from_url(os.environ["REDIS_URL"])
key = os.environ["BASELINE_REDIS_KEY"]


@asynccontextmanager
async def lifespan(_: object) -> AsyncIterator[None]:
    await redis.set(key, VALUE, ex=STORED_SECONDS)
    yield
    await redis.delete(key)
    await redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/hello")  # type: ignore[untyped-decorator]
async def hello() -> dict[str, str]:
    return HELLO


@app.get("/redis")  # type: ignore[untyped-decorator]
async def redis_get() -> Response:
    return Response(content=await redis.get(key), media_type="application/json")
