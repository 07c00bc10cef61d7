"""A real HTTP proxy for tests: forwards plain requests and tunnels CONNECT, counting what it saw.

Run as a process: ``python proxy_server.py``; it prints its port, then one line per request
("GET http://host/path" or "CONNECT host:port") to stdout for the test to read.
"""

import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    head = await client_reader.readuntil(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, version = request_line.split(" ", 2)
    print(f"{method} {target.split('?')[0]}", flush=True)
    if method == "CONNECT":
        host, port = target.rsplit(":", 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        client_writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await client_writer.drain()
    else:
        from urllib.parse import urlsplit

        url = urlsplit(target)
        upstream_reader, upstream_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        path = url.path + (f"?{url.query}" if url.query else "")
        upstream_writer.write(f"{method} {path} {version}\r\n".encode("latin-1"))
        upstream_writer.write(
            ("\r\n".join(h for h in header_lines if not h.lower().startswith("proxy-"))).encode("latin-1")
        )
        await upstream_writer.drain()
    await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
