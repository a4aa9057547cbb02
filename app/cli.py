"""tuishui-cli — the client core on the command line (batch work for tax agents).

Exit codes: 0 ok · 1 the platform (or the local check) refused, the message says why ·
2 usage · 3 the platform could not be reached.

Staying logged in between commands: after ``login`` the session token is kept in the OS
keyring (never in a file) under the account, and later commands continue with it. A token
is short-lived (8 hours idle) and only as powerful as the session, so keeping it there is
what lets ``upload`` and ``feedback`` run as separate commands; the password itself is
kept only with ``--remember``, and then an expired token is renewed from it. Without a
keyring nothing is kept: the command says so, and only ``login`` itself works.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import CoreError, LocalError, NetworkError, PlatformError
from app.models import to_wire
from app.paths import AppPaths, app_paths, atomic_write_text

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NETWORK = 0, 1, 2, 3
ACCOUNT_TYPES = ("credit_code", "taxpayer_id", "customs_code")


@dataclass
class Context:
    args: argparse.Namespace
    paths: AppPaths
    _session: Any = None
    _token: str | None = None

    def out(self, data: Any, text: str) -> None:
        if self.args.json:
            print(json.dumps(to_wire(data), ensure_ascii=False, indent=2, default=str))
        else:
            print(text)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr)

    def workspace(self) -> Any:
        from app.session import Workspace

        return Workspace(self.paths)

    def server(self, workspace: Any) -> str:
        from app.client import api_base

        if self.args.server:
            return api_base(self.args.server)[: -len("/api/v1")]
        if workspace.settings.server_url:
            return str(workspace.settings.server_url)
        from app.launcher import BundledPlatform

        self.note("未配置平台地址，使用内置演示平台。")
        return BundledPlatform(self.paths, stop_at_exit=False).ensure_running()

    def session(self) -> Any:
        """The session of the last account logged in on this server (token or password)."""
        ws = self.workspace()
        server = self.server(ws)
        account = next((a for a in ws.accounts() if a.server == server), None)
        if account is None:
            raise LocalError("尚未登录，请先执行 tuishui-cli login。")
        self._token = ws.credentials.token(server, account.key)
        self._session = ws.resume(account, self._token)
        self.keep_renewed_token()
        return self._session

    def keep_renewed_token(self) -> None:
        """Store the token again when it was renewed from the remembered password."""
        session = self._session
        if session is not None and session.client.token and session.client.token != self._token:
            self._token = session.client.token
            _keep_token(session.workspace, session)


def _keep_token(ws: Any, session: Any) -> None:
    from app.credentials import KeyringUnavailable

    try:
        ws.credentials.remember_token(
            session.account.server, session.account.key, session.client.token
        )
    except KeyringUnavailable as exc:
        print(exc.detail + "登录状态无法在命令之间保留。", file=sys.stderr)


# -- commands -------------------------------------------------------------------------------


def cmd_login(ctx: Context) -> int:
    a = ctx.args
    ws = ctx.workspace()
    session = ws.login(ctx.server(ws), a.type, a.account, a.password, a.remember)
    _keep_token(ws, session)
    for warning in session.warnings:
        ctx.note(warning)
    hint = "（首次登录或密码已重置，请先修改密码：tuishui-cli password --old 旧密码 --new 新密码）"
    ctx.out(
        {
            "taxpayer_id": session.taxpayer_id,
            "name": session.brief.name,
            "must_change_password": session.must_change_password,
            "warnings": session.warnings,
        },
        f"已登录：{session.brief.name}（{session.taxpayer_id}）"
        + (hint if session.must_change_password else ""),
    )
    return EXIT_OK


def cmd_password(ctx: Context) -> int:
    session = ctx.session()
    session.change_password(ctx.args.old, ctx.args.new)
    ctx.out({"changed": True}, "密码已修改。")
    return EXIT_OK


def cmd_logout(ctx: Context) -> int:
    ws = ctx.workspace()
    server = ctx.server(ws)
    account = next((a for a in ws.accounts() if a.server == server), None)
    if account is not None:
        token = ws.credentials.token(server, account.key)
        if token:
            from app.client import PlatformClient

            client = PlatformClient(server)
            client.token = token
            with contextlib.suppress(PlatformError):  # already ended
                client.logout()
        ws.credentials.forget_token(server, account.key)
    ctx.out({"logged_out": True}, "已退出登录。")
    return EXIT_OK


def cmd_check(ctx: Context) -> int:
    session = ctx.session()
    report = session.check_package(Path(ctx.args.file), ctx.args.stage)
    lines = [
        f"数据包：{report.path.name}  {report.business_code} 所属期 {report.period} 批次 {report.batch}"
    ]
    if report.refusal is not None:
        lines.append("不能上传：" + report.refusal.detail)
    if report.duplicate_of is not None:
        lines.append(f"提示：该数据包已上传过（编号 {report.duplicate_of.id}）。")
    lines += report.warnings
    if report.result is not None:
        lines.append(
            f"本地预审结果：{_RESULT_TEXT.get(report.result, '')}，疑点 {len(report.doubts)} 条"
        )
        lines += [_doubt_line(d) for d in report.doubts]
    ctx.out(report, "\n".join(lines))
    return EXIT_REFUSED if report.refusal is not None else EXIT_OK


def cmd_upload(ctx: Context) -> int:
    session = ctx.session()
    decl = session.upload(Path(ctx.args.file), ctx.args.stage, _progress(ctx))
    if ctx.args.wait:
        decl = session.wait_for_audit(decl.id)
    ctx.out(decl, _declaration_text(decl))
    return EXIT_OK


def cmd_list(ctx: Context) -> int:
    from app.client import iter_all

    session = ctx.session()
    items = list(
        iter_all(
            lambda page: session.client.list_declarations(
                stage=ctx.args.stage, page=page, page_size=500
            )
        )
    )
    session.store.upsert_declarations(items)
    ctx.out(items, "\n".join(_declaration_line(d) for d in items) or "没有申报记录。")
    return EXIT_OK


def cmd_status(ctx: Context) -> int:
    decl = ctx.session().declaration(ctx.args.id)
    ctx.out(decl, _declaration_text(decl))
    return EXIT_OK


def cmd_doubts(ctx: Context) -> int:
    doubts = ctx.session().doubts(ctx.args.id)
    ctx.out(doubts, "\n".join(_doubt_line(d) for d in doubts) or "没有疑点。")
    return EXIT_OK


def _action(name: str) -> Callable[[Context], int]:
    def run(ctx: Context) -> int:
        decl = getattr(ctx.session(), name)(ctx.args.id)
        ctx.out(decl, _declaration_text(decl))
        return EXIT_OK

    return run


def cmd_feedback(ctx: Context) -> int:
    folder = ctx.session().fetch_feedback(ctx.args.id, _progress(ctx))
    ctx.out({"folder": str(folder)}, str(folder))
    return EXIT_OK


def cmd_job(ctx: Context) -> int:
    a = ctx.args
    session = ctx.session()
    job = session.request_job(a.category, a.type, a.period)
    if a.wait and job.status == "assembling":
        job = session.wait_for_job(job.id)
    if job.status != "ready":
        ctx.out(job, f"反馈任务 {job.id}：{_JOB_TEXT.get(job.status, job.status)}")
        return EXIT_OK if job.status == "assembling" else EXIT_REFUSED
    folder = session.fetch_job(job.id, _progress(ctx))
    ctx.out({"job": job, "folder": str(folder)}, str(folder))
    return EXIT_OK


def cmd_document(ctx: Context) -> int:
    path = ctx.session().issue_document(ctx.args.type, ctx.args.period)
    ctx.out({"path": str(path)}, str(path))
    return EXIT_OK


def cmd_sync(ctx: Context) -> int:
    from app.sync import SyncWorker

    session = ctx.session()
    changes = SyncWorker(session, wait=0).poll_once()
    ctx.out(
        changes,
        "\n".join(f"{c.kind} {c.id} {c.op}" for c in changes) or "没有新的变化。",
    )
    return EXIT_OK


def cmd_rates(ctx: Context) -> int:
    session = ctx.session()
    try:
        session.refresh_rates()
    except NetworkError as exc:
        ctx.note(exc.detail + "（使用本机缓存的退税率文库）")
    rows = session.store.search_rates(ctx.args.query, limit=ctx.args.limit)
    ctx.out(
        rows,
        "\n".join(
            f"{r.commodity_code}  {r.name}  征税率 {r.vat_rate}  退税率 {r.refund_rate}  "
            f"{r.valid_from}~{r.valid_to}"
            for r in rows
        )
        or "没有找到。",
    )
    return EXIT_OK


def cmd_batch(ctx: Context) -> int:
    """Run upload → wait → feedback for every row of a CSV (columns account_type, account,
    password, file, stage); progress is kept next to the CSV, so a rerun resumes."""
    from app.documents import file_sha256

    csv_path = Path(ctx.args.file)
    state_path = csv_path.with_name(csv_path.name + ".progress.json")
    state: dict[str, dict[str, Any]] = (
        json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    )
    ws = ctx.workspace()
    server = ctx.server(ws)
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    code = EXIT_OK
    for number, row in enumerate(rows, start=1):
        package = (csv_path.parent / row["file"]).resolve()
        key = f"{number}:{file_sha256(package)}"
        entry = state.setdefault(key, {"row": number, "file": row["file"]})
        if entry.get("folder"):
            continue
        try:
            _batch_row(ctx, ws, server, row, package, entry, lambda: _save(state_path, state))
            entry.pop("error", None)
        except NetworkError as exc:
            entry["error"] = exc.detail
            _save(state_path, state)
            ctx.note(f"第 {number} 行：{exc.detail}（批处理已暂停，重新执行即从此处继续）")
            code = EXIT_NETWORK
            break
        except CoreError as exc:
            entry["error"] = exc.detail
            ctx.note(f"第 {number} 行：{exc.detail}")
            code = EXIT_REFUSED
        _save(state_path, state)
    ctx.out(list(state.values()), "\n".join(_batch_line(e) for e in state.values()))
    return code


def _batch_row(
    ctx: Context,
    ws: Any,
    server: str,
    row: dict[str, str],
    package: Path,
    entry: dict[str, Any],
    save: Callable[[], None],
) -> None:
    account_type, account = row["account_type"].strip(), row["account"].strip().upper()
    known = next(
        (
            a
            for a in ws.accounts()
            if (a.server, a.account_type, a.account) == (server, account_type, account)
        ),
        None,
    )
    if row.get("password"):
        session = ws.login(server, account_type, account, row["password"])
    elif known is not None:
        session = ws.resume(known)
    else:
        raise LocalError(f"账号 {account} 没有填写密码，本机也没有记住它的密码。")
    if session.must_change_password:
        raise LocalError(f"{session.brief.name} 需要先修改初始密码，请先登录并修改密码。")
    stage = (row.get("stage") or "pre").strip()
    if not entry.get("declaration_id"):
        try:
            decl = session.upload(package, stage)
        except LocalError as exc:
            if exc.code != "PACKAGE_DUPLICATE" or not exc.existing_id:
                raise
            decl = session.declaration(exc.existing_id)
        entry["declaration_id"] = decl.id
        save()
    decl = session.wait_for_audit(entry["declaration_id"])
    entry["status"] = decl.status_text
    if decl.stage == "pre":
        entry["folder"] = str(session.fetch_feedback(decl.id))
    else:
        entry["folder"] = ""
        entry["done"] = True


def _save(path: Path, state: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(state, ensure_ascii=False, indent=2))


def _batch_line(entry: dict[str, Any]) -> str:
    status = entry.get("error") or entry.get("status") or "未完成"
    return f"第 {entry['row']} 行 {entry['file']}：{status} {entry.get('folder') or ''}".rstrip()


# -- text output ----------------------------------------------------------------------------

_RESULT_TEXT = {0: "无疑点", 1: "仅有可挑过疑点", 2: "有不可挑过疑点"}
_JOB_TEXT = {"assembling": "正在生成", "ready": "已就绪", "failed": "生成失败", "expired": "已过期"}


def _declaration_line(d: Any) -> str:
    stage = "预申报" if d.stage == "pre" else "正式申报"
    return f"{d.id}  {stage}  {d.business_name}  {d.period}-{d.batch}  {d.status_text}"


def _declaration_text(d: Any) -> str:
    lines = [_declaration_line(d)]
    if d.queue_position is not None:
        eta = f"，预计 {d.queue_eta_seconds} 秒" if d.queue_eta_seconds is not None else ""
        lines.append(f"审核排位：第 {d.queue_position} 位{eta}")
    if d.result is not None:
        lines.append("审核结果：" + _RESULT_TEXT.get(d.result, str(d.result)))
    if d.reject_code:
        lines.append(f"不予受理（{d.reject_code}）：{d.reject_text or ''}")
    if d.blocked_reason:
        lines.append(d.blocked_reason)
    if d.message:
        lines.append(d.message)
    return "\n".join(lines)


def _doubt_line(d: Any) -> str:
    passable = "可挑过" if d.passable else "不可挑过"
    return f"[{d.seq or '整体'}] {d.code}（{passable}）{d.message} {d.hint}".rstrip()


def _progress(ctx: Context) -> Callable[[int, int | None], None] | None:
    if ctx.args.json or not sys.stderr.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        percent = f"{done * 100 // total}%" if total else f"{done // 1024} KB"
        print(f"\r{percent}", end="", file=sys.stderr, flush=True)

    return show


# -- argument parsing -------------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before and after the command; only the main parser has defaults
    (argparse shares action objects between parents, so each gets its own)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--json", action="store_true", default=default(False), help="以 JSON 输出")
    parser.add_argument(
        "--server", default=default(None), help="平台地址（默认：设置中的地址或内置演示平台）"
    )
    parser.add_argument("--home", default=default(None), help="数据文件夹（默认：用户数据目录）")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    parser = argparse.ArgumentParser(prog="tuishui-cli", description="出口退税客户端命令行工具")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[Context], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, parents=[common])
        p.set_defaults(run=run)
        return p

    p = command("login", cmd_login, "登录")
    p.add_argument("--type", choices=ACCOUNT_TYPES, default="credit_code")
    p.add_argument("--account", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--remember", action="store_true", help="在系统凭据管理器中记住密码")
    p = command("password", cmd_password, "修改密码")
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    command("logout", cmd_logout, "退出登录")
    p = command("check", cmd_check, "本地预审（不上传）")
    p.add_argument("file")
    p.add_argument("--stage", choices=("pre", "formal"), default="pre")
    p = command("upload", cmd_upload, "上传申报数据包")
    p.add_argument("file")
    p.add_argument("--stage", choices=("pre", "formal"), default="pre")
    p.add_argument("--wait", action="store_true", help="等待审核完成")
    p = command("list", cmd_list, "申报记录")
    p.add_argument("--stage", choices=("pre", "formal"))
    for name, run, text in (
        ("status", cmd_status, "申报状态"),
        ("doubts", cmd_doubts, "疑点"),
        ("convert", _action("convert"), "转正式申报"),
        ("confirm", _action("confirm"), "确认申报"),
        ("withdraw", _action("withdraw"), "撤回正式申报"),
        ("feedback", cmd_feedback, "下载并解密预审核反馈，输出文件夹"),
    ):
        command(name, run, text).add_argument("id")
    p = command("job", cmd_job, "反馈下载任务，输出文件夹")
    p.add_argument("--category", required=True)
    p.add_argument("--type", required=True)
    p.add_argument("--period", required=True)
    p.add_argument("--wait", action="store_true")
    p = command("document", cmd_document, "文书开具，输出 PDF 路径")
    p.add_argument("--type", required=True)
    p.add_argument("--period")
    command("sync", cmd_sync, "同步平台的变化")
    p = command("rates", cmd_rates, "出口退税率查询")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p = command("batch", cmd_batch, "批量处理 CSV（可续做）")
    p.add_argument("file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = app_paths(Path(args.home) if args.home else None)
    from app.logs import setup_logging

    setup_logging(paths)
    ctx = Context(args, paths)
    try:
        code = int(args.run(ctx))
        ctx.keep_renewed_token()
        return code
    except NetworkError as exc:
        return _fail(ctx, exc, EXIT_NETWORK)
    except CoreError as exc:
        return _fail(ctx, exc, EXIT_REFUSED)
    except (OSError, ValueError, KeyError) as exc:  # bad file, bad CSV
        return _fail(ctx, LocalError(f"无法读取输入：{exc}"), EXIT_USAGE)


def _fail(ctx: Context, exc: CoreError, code: int) -> int:
    if ctx.args.json:
        error: dict[str, Any] = {"detail": exc.detail, "code": getattr(exc, "code", None)}
        if isinstance(exc, PlatformError):
            error |= {
                k: v
                for k, v in exc.body.items()
                if k in ("existing_id", "locked_until", "problems")
            }
        elif isinstance(exc, LocalError) and exc.existing_id:
            error["existing_id"] = exc.existing_id
        print(json.dumps({"error": error}, ensure_ascii=False, indent=2))
    else:
        print("错误：" + exc.detail, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
