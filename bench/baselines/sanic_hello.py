"""The bare Sanic baseline: ``GET /hello`` answering a small JSON body, in one process with no
access log, on the service's own Sanic and interpreter. What an endpoint costs above this is what
the service's features and work cost.

    python -m bench.baselines.sanic_hello --port 8100
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

from sanic import Request, Sanic
from sanic.config import Config
from sanic.response import HTTPResponse, json

HELLO = {"message": "hello"}


def create_app() -> Sanic[Config, SimpleNamespace]:
    app: Sanic[Config, SimpleNamespace] = Sanic("bench_hello")

    @app.get("/hello")
    async def hello(_: Request) -> HTTPResponse:
        return json(HELLO)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    create_app().run(
        host="127.0.0.1", port=args.port, single_process=True, access_log=False, motd=False
    )


if __name__ == "__main__":
    main()
