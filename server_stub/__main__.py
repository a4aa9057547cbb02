"""``python -m server_stub``: run the bundled platform, or one of its tools.

python -m server_stub [--host H] [--port P] [--data-dir DIR] [options]   run the platform
python -m server_stub admin --data-dir DIR accept ID                     tax-office actions
python -m server_stub seed --data-dir DIR --einfo-lines N --declared-lines M
python -m server_stub generate --data-dir DIR --taxpayer-id T --period YYYYMM --out x.zip
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from server_stub import clock, db
from server_stub import settings as settings_module

COMMANDS = ("serve", "admin", "seed", "generate")


def _say(line: str) -> None:
    """One line on standard output (absent in a windowed, frozen app)."""
    if sys.stdout is not None:
        print(line, flush=True)


def _setup_logging(data_dir: Path) -> None:
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(logs / "server.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # request lines carry no bodies or headers: no password or token reaches the log
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def remember_clock(data_dir: Path) -> None:
    """Keep the clock's shift in the database, so tools on the data dir share "today"."""
    conn = db.connect(data_dir)
    try:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('clock_offset', ?)",
            (str(clock.offset_seconds()),),
        )
    finally:
        conn.close()


def load_clock(data_dir: Path) -> None:
    conn = db.connect(data_dir)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
    finally:
        conn.close()
    if row is not None:
        clock.set_offset_seconds(float(row[0]))


def serve(settings: settings_module.Settings) -> int:
    import uvicorn

    from server_stub.api.app import create_app
    from server_stub.recovery import recover_data_dir
    from server_stub.seed import seed_data_dir

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _setup_logging(data_dir)
    settings_module.set_fault_delays(settings)
    clock.set_start(settings.now)
    seed_data_dir(data_dir, clock.now())
    # before any worker or request: what a crash left half done is cleaned up first
    recover_data_dir(data_dir)
    remember_clock(data_dir)
    app = create_app(settings)

    # proto IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted connections (else Nagle
    # and delayed ACKs add 40 ms to every answer written in two parts)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    port = sock.getsockname()[1]
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{port}"
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        timeout_keep_alive=30,
        backlog=2048,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.02)
        _write_atomic(data_dir / "server.json", json.dumps({"url": url, "pid": os.getpid()}))
        _say(f"data dir: {data_dir}")
        _say(f"admin token file: {data_dir / 'admin-token'}")
        _say(f"listening on {url}")
        logging.getLogger(__name__).info("listening on %s", url)

    if settings.exit_with_stdin:
        _exit_when_stdin_closes(server)

    async def main() -> None:
        task = asyncio.create_task(announce())
        await server.serve(sockets=[sock])
        task.cancel()

    asyncio.run(main())
    return 0


def _exit_when_stdin_closes(server: Any) -> None:
    """The desktop client keeps our standard input open while it runs; when it goes —
    closed, crashed or killed — the pipe ends and the platform shuts down cleanly (audit
    workers with it) instead of running on unseen."""
    log = logging.getLogger(__name__)
    try:  # descriptor 0 itself: a windowed (frozen) build may leave sys.stdin None
        os.fstat(0)
    except OSError:
        log.warning("--exit-with-stdin: no standard input to watch")
        return

    def watch() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        log.info("standard input closed: the desktop client is gone, shutting down")
        server.should_exit = True

    threading.Thread(target=watch, name="stdin-lifeline", daemon=True).start()


# ---------------------------------------------------------------- admin


def _server_url(data_dir: Path) -> str:
    try:
        return str(json.loads((data_dir / "server.json").read_text(encoding="utf-8"))["url"])
    except (OSError, ValueError, KeyError):
        raise SystemExit(f"平台未运行：{data_dir / 'server.json'} 不存在或无法读取") from None


def _admin_request(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """(path under /admin/v1, requests keyword arguments) of an admin action."""
    a = args.action
    if a in ("accept", "approve", "refuse"):
        body: dict[str, Any] = {}
        if a == "approve" and args.refused_seqs:
            body = {"refused_seqs": [s for s in args.refused_seqs.split(",") if s]}
        elif a == "refuse":
            body = {"reason": args.reason}
        return f"/declarations/{args.id}/{a}", {"json": body or None}
    if a == "reset-password":
        return f"/enterprises/{args.taxpayer_id}/reset-password", {}
    if a == "state":
        return f"/enterprises/{args.taxpayer_id}/state", {"json": {"state": args.state}}
    if a == "notice":
        return "/notices", {"json": {"category": args.category, "subcategory": args.subcategory,
                                     "title": args.title, "body": args.body,
                                     "taxpayer_id": args.taxpayer_id}}  # fmt: skip
    if a == "publish-rates":
        params = {"version": args.version, "commodity_code_version": args.commodity_code_version}
        return "/rates/publish", {
            "params": {k: v for k, v in params.items() if v},
            "data": args.file.read_bytes(),
            "headers": {"Content-Type": "application/x-ndjson"},
        }
    data = {"name": args.name, "version": args.version, "kind": args.kind}
    return "/downloads", {"data": data, "files": {"file": (args.file.name, args.file.read_bytes())}}


def admin(args: argparse.Namespace) -> int:
    import requests

    data_dir = Path(args.data_dir)
    url = _server_url(data_dir) + "/admin/v1"
    token = (data_dir / "admin-token").read_text(encoding="utf-8").strip()
    path, kwargs = _admin_request(args)
    headers = {"X-Admin-Token": token, **kwargs.pop("headers", {})}
    r = requests.post(url + path, headers=headers, timeout=300, **kwargs)
    _say(r.text)
    return 0 if r.ok else 1


def _admin_parser(sub: Any) -> None:
    p = sub.add_parser("admin", help="税务机关操作（受理、审批、重置密码……）")
    p.add_argument("--data-dir", required=True, type=Path)
    acts = p.add_subparsers(dest="action", required=True)
    acts.add_parser("accept", help="受理").add_argument("id")
    a = acts.add_parser("approve", help="审批")
    a.add_argument("id")
    a.add_argument("--refused-seqs", default="", help="不予审批的申报序号，逗号分隔")
    r = acts.add_parser("refuse", help="审核不通过")
    r.add_argument("id")
    r.add_argument("--reason", required=True)
    acts.add_parser("reset-password", help="重置密码").add_argument("taxpayer_id")
    s = acts.add_parser("state", help="设置企业状态")
    s.add_argument("taxpayer_id")
    s.add_argument("state")
    n = acts.add_parser("notice", help="发布提醒")
    n.add_argument("--category", required=True)
    n.add_argument("--subcategory", default="")
    n.add_argument("--title", required=True)
    n.add_argument("--body", required=True)
    n.add_argument("--taxpayer-id", default=None)
    rates = acts.add_parser("publish-rates", help="发布新版退税率文库（NDJSON 文件）")
    rates.add_argument("file", type=Path)
    rates.add_argument("--version", required=True, help="如 2026C")
    rates.add_argument("--commodity-code-version", default=None)
    dl = acts.add_parser("publish-download", help="发布下载专区文件")
    dl.add_argument("file", type=Path)
    dl.add_argument("--name", required=True)
    dl.add_argument("--version", required=True)
    dl.add_argument("--kind", default="declaration_software")


# ---------------------------------------------------------------- seed, generate


def bulk_seed(args: argparse.Namespace) -> int:
    from server_stub.seed import bulk, seed_data_dir

    data_dir = Path(args.data_dir)
    seed_data_dir(data_dir, clock.now())
    load_clock(data_dir)
    conn = db.connect(data_dir)
    try:
        bulk(conn, args.taxpayer_id, args.einfo_lines, args.declared_lines)
    finally:
        conn.close()
    _say(f"added {args.einfo_lines} e-info lines and {args.declared_lines} declared lines")
    return 0


def generate(args: argparse.Namespace) -> int:
    from server_stub.generate import generate_from_args

    out = generate_from_args(args)
    _say(str(out))
    return 0


def _generate_parser(sub: Any) -> None:
    p = sub.add_parser("generate", help="用平台的电子信息生成申报数据包")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data-dir", type=Path, help="从本平台的数据目录读取电子信息")
    src.add_argument("--server", help="按协议从平台读取（需 --account 和 --password）")
    p.add_argument("--account", help="登录账号（--server 时）")
    p.add_argument("--account-type", default="credit_code")
    p.add_argument("--password")
    p.add_argument("--taxpayer-id", required=True)
    p.add_argument("--period", required=True, help="所属期 YYYYMM")
    p.add_argument("--rows", type=int, default=None, help="行数（默认：该所属期的全部电子信息）")
    p.add_argument("--inject", default="", help="注入的疑点代码，逗号分隔")
    p.add_argument("--batch", default="001")
    p.add_argument("--business-code", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--summary", action="store_true", help="附带汇总表 mdt_hz")
    p.add_argument("--out", required=True, type=Path)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else "serve"
    if argv and argv[0] == "serve":
        argv = argv[1:]
    if command == "serve":
        parser = argparse.ArgumentParser(prog="python -m server_stub", description=__doc__,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        settings_module.add_arguments(parser)
        return serve(settings_module.from_namespace(parser.parse_args(argv)))
    parser = argparse.ArgumentParser(prog="python -m server_stub")
    sub = parser.add_subparsers(dest="command", required=True)
    _admin_parser(sub)
    s = sub.add_parser("seed", help="批量添加电子信息和已申报明细（基准测试用）")
    s.add_argument("--data-dir", required=True, type=Path)
    s.add_argument("--taxpayer-id", default="91110108MA01HC7K1M")
    s.add_argument("--einfo-lines", type=int, default=0)
    s.add_argument("--declared-lines", type=int, default=0)
    _generate_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "admin":
        return admin(args)
    if args.command == "seed":
        return bulk_seed(args)
    return generate(args)


if __name__ == "__main__":
    sys.exit(main())
