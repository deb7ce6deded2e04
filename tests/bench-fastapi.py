#!/usr/bin/python3
"""bench-fastapi.py DB SECRET [WORKERS]: the peer make bench measures
bms-serve's GET /api/v1/bms/data/{bms_id} against, on the stack of the
Python seed: FastAPI under uvicorn, tokens checked by PyJWT.

DB is an SQLite file holding a table readings(bms_id TEXT, ts INTEGER,
body TEXT, PRIMARY KEY(bms_id, ts)) whose bodies are the readings as
JSON text; SECRET is bms-serve's key file (hex digits).  The route checks
the bearer token as an HS256 JWT under that key (PyJWT, HS256 only, its
expiry, issue time and subject required) and answers the battery's
latest body as JSON, 404 when there is none.

It listens on 127.0.0.1, on a port the system picks, printed on stdout
as "listening on http://127.0.0.1:PORT", with WORKERS processes (default
1) sharing that socket, until SIGTERM or SIGINT.
"""
import os
import sqlite3
import sys

import jwt
from fastapi import FastAPI, Header, HTTPException, Response

app = FastAPI()
_db = None
_key = None


def _setup():
    global _db, _key
    with open(os.environ["BENCH_SECRET"]) as f:
        _key = bytes.fromhex(f.read().strip())
    # One read-only connection per worker process; the route below runs
    # on the worker's event loop, so it is used by one request at a time.
    _db = sqlite3.connect("file:%s?mode=ro" % os.environ["BENCH_DB"], uri=True,
                          check_same_thread=False)


@app.get("/api/v1/bms/data/{bms_id}")
async def data(bms_id: str, authorization: str = Header(None)):
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "sign in first: no bearer token")
    try:
        jwt.decode(authorization[7:], _key, algorithms=["HS256"],
                   options={"require": ["exp", "iat", "sub"]})
    except jwt.InvalidTokenError:
        raise HTTPException(401, "the token is not valid: sign in again")
    row = _db.execute("SELECT body FROM readings WHERE bms_id = ? ORDER BY ts DESC LIMIT 1",
                      (bms_id,)).fetchone()
    if row is None:
        raise HTTPException(404, "no such battery, or no reading of it yet")
    # The stored JSON text as it is: no parse and re-serialisation.
    return Response(row[0], media_type="application/json")


if os.environ.get("BENCH_DB"):
    _setup()


def main():
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if len(sys.argv) not in (3, 4):
        sys.exit("usage: bench-fastapi.py DB SECRET [WORKERS]")
    os.environ["BENCH_DB"] = os.path.abspath(sys.argv[1])
    os.environ["BENCH_SECRET"] = os.path.abspath(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    here = os.path.dirname(os.path.abspath(__file__))
    # No __pycache__ left beside this file, by this process or the workers.
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # The workers import this file by name, as uvicorn --workers does;
    # asyncio's loop and h11's parser, what uvicorn runs on with Debian's
    # packages alone (no uvloop, no httptools), named so that nothing
    # installed besides changes what is measured.
    sys.path.insert(0, here)
    config = uvicorn.Config("bench-fastapi:app", workers=workers, loop="asyncio",
                            http="h11", access_log=False, log_level="warning",
                            lifespan="off")
    # The protocol named: asyncio sets TCP_NODELAY only on sockets that
    # say they are TCP, and without it every answer in two writes waits
    # for the client's delayed acknowledgement (some 40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    print("listening on http://127.0.0.1:%d" % sock.getsockname()[1], flush=True)
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, target=server.run, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


if __name__ == "__main__":
    main()
