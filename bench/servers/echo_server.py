"""Reference (a): a bare ``websockets`` echo server. Every frame goes back as it came.

It accepts the OCPP path and subprotocol so the same load generator drives it, and ignores
credentials. Keepalive pings every 60 s, like the voltflow endpoint; otherwise websockets' defaults.

    .venv/bin/python bench/servers/echo_server.py --port 9100
"""

from __future__ import annotations

import asyncio

from _runtime import raise_nofile_limit, ready, server_arguments, until_stopped
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def echo(ws: ServerConnection) -> None:
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass


async def main(host: str, port: int, watch_stdin: bool = False) -> None:
    raise_nofile_limit()
    async with serve(
        echo,
        host,
        port,
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ping_interval=60,
        ping_timeout=60,
        backlog=4096,
    ) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        ready(bound)
        await until_stopped(watch_stdin)
        server.close()


if __name__ == "__main__":
    parser = server_arguments(__doc__)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port, args.watch_stdin))
