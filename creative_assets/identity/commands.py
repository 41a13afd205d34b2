"""``creative-assets users|tokens|audit``: manage accounts and service tokens, check and export the
audit log. Registered on the main parser by :func:`add_commands` (creative_assets/cli.py)."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from datetime import datetime, timezone

from creative_assets import layout, settings
from creative_assets.identity.config import IdentitySettings
from creative_assets.identity.passwords import PasswordPolicyError, generate_password
from creative_assets.identity.store import IdentityError, IdentityStore

ACTOR = f"cli:{settings.get('USER', 'unknown')}"
#: "from where" of a command's audit records: the host it ran on
WHERE = f"cli@{socket.gethostname()}"


def open_store(settings: IdentitySettings | None = None) -> IdentityStore:
    settings = settings or IdentitySettings.from_env()
    return IdentityStore.open(
        settings.db_url,
        settings.db_schema,
        session_hours=settings.session_hours,
        idle_minutes=settings.idle_minutes,
    )


def _role_args(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        brand, sep, role = value.partition(":")
        if not sep or not brand or not role:
            raise IdentityError(f"--role takes BRAND:ROLE (BRAND may be '*'), not {value!r}")
        out.append((brand, role))
    return out


def cmd_users(args: argparse.Namespace) -> int:
    store = open_store()
    try:
        if args.users_command == "add":
            password = None
            generated = False
            if args.service:
                kind, source = "service", "service"
            else:
                kind, source = "human", "local"
                if args.password_stdin:
                    password = sys.stdin.readline().rstrip("\n")
                elif sys.stdin.isatty() and not args.generate_password:
                    password = getpass.getpass("Password (at least 12 characters): ")
                    if getpass.getpass("Again: ") != password:
                        print("✗ the passwords differ", file=sys.stderr)
                        return 2
                else:
                    password, generated = generate_password(), True
            store.add_user(
                args.login,
                display_name=args.name,
                password=password,
                kind=kind,
                source=source,
                is_admin=args.admin,
                groups=tuple(args.group),
                must_change_password=generated,
                actor=ACTOR,
                ip=WHERE,
            )
            for brand, role in _role_args(args.role):
                store.set_role(args.login, brand, role, actor=ACTOR, ip=WHERE)
            print(f"✓ account {args.login.lower()} created ({kind})")
            if generated:
                print(f"  one-time password (shown once; changed at first sign-in): {password}")
        elif args.users_command == "list":
            for u in store.users():
                roles = ", ".join(f"{b}:{r}" for b, r in sorted(u["roles"].items())) or "-"
                flags = [f for f, on in (("admin", u["is_admin"]), ("disabled", u["disabled"])) if on]
                print(f"{u['login']:<32} {u['kind']:<8} {u['source']:<7} {roles:<40} {' '.join(flags)}")
        elif args.users_command == "disable":
            store.set_disabled(args.login, not args.enable, actor=ACTOR, ip=WHERE)
            print(
                f"✓ {args.login.lower()} {'enabled' if args.enable else 'disabled; its sessions are revoked'}"
            )
        elif args.users_command == "set-role":
            if args.brand == "admin" and args.role is None:
                store.set_admin(args.login, True, actor=ACTOR, ip=WHERE)
            else:
                role = None if (args.role or "").lower() in ("", "none") else args.role
                store.set_role(args.login, args.brand, role, actor=ACTOR, ip=WHERE)
            print(f"✓ {args.login.lower()}: {args.brand} -> {args.role or 'admin'}")
        elif args.users_command == "set-groups":
            store.set_groups(args.login, args.groups, actor=ACTOR, ip=WHERE)
            print(f"✓ {args.login.lower()}: groups {', '.join(args.groups) or '-'}")
        elif args.users_command == "reset-password":
            password = generate_password()
            store.set_password(args.login, password, must_change=True, actor=ACTOR, ip=WHERE)
            print(f"✓ one-time password for {args.login.lower()} (shown once): {password}")
    except (IdentityError, PasswordPolicyError, ValueError) as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    store = open_store()
    try:
        if args.tokens_command == "create":
            token = store.create_token(
                args.login, args.scope, days=args.days or None, note=args.note, actor=ACTOR, ip=WHERE
            )
            print(token)
            print(
                "  (shown once: only its hash is stored; revoke with `creative-assets tokens revoke ID`)",
                file=sys.stderr,
            )
        elif args.tokens_command == "list":
            for t in store.tokens():
                state = "revoked" if t["revoked_at"] else "active"
                expires = (
                    datetime.fromtimestamp(t["expires_at"], timezone.utc).date()
                    if t["expires_at"]
                    else "never"
                )
                print(
                    f"{t['id']}  {t['login']:<28} {t['scopes']:<20} {state:<8} expires {expires}  {t['note']}"
                )
        elif args.tokens_command == "revoke":
            store.revoke_token(args.id, actor=ACTOR, ip=WHERE)
            print(f"✓ token {args.id} revoked")
    except (IdentityError, ValueError) as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from creative_assets import audit

    store = open_store()
    if args.audit_command == "archive":
        from creative_assets.definitions import build_storage
        from creative_assets.identity.archive import archive_day, archive_pending

        with build_storage().process_config_and_initialize_cm() as storage:
            if args.day:
                days = [datetime.fromisoformat(args.day).date()]
                archive_day(store, storage, days[0])
            else:
                days = archive_pending(store, storage, None, datetime.now(timezone.utc).date())
            print(f"✓ archived {len(days)} day(s) to {storage.uri(layout.AUDIT_ARCHIVE_PREFIX)}")
        return 0
    if args.audit_command == "verify":
        problems = store.verify_audit()
        if args.archive:
            from creative_assets.definitions import build_storage
            from creative_assets.identity.archive import compare_with_archive

            with build_storage().process_config_and_initialize_cm() as storage:
                problems += compare_with_archive(store, storage)
        count = store.audit_records(limit=1, newest_first=True)
        if problems:
            for p in problems:
                print(f"✗ {p}", file=sys.stderr)
            return 1
        print(f"✓ audit chain intact ({count[0]['seq'] if count else 0} records)")
        return 0
    since = _since(args.since)
    records = store.audit_records(since=since, until=_since(args.until) if args.until else None)
    text = audit.to_csv(records) if args.format == "csv" else audit.to_json_lines(records)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"✓ {len(records)} record(s) -> {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _since(value: str | None) -> str | None:
    """An ISO date or date-time (UTC) as the log's sortable timestamp form."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(
            f"✗ {value!r} is not an ISO date (2026-12-01) or date-time (2026-12-01T08:00)"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_commands(sub) -> None:
    p = sub.add_parser("users", help="manage review accounts (local, service) and their brand roles")
    u = p.add_subparsers(dest="users_command", required=True)
    a = u.add_parser("add", help="create an account")
    a.add_argument("login", help="account name (an e-mail address or a short name)")
    a.add_argument("--name", help="display name (default: the login)")
    a.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="BRAND:ROLE",
        help="a brand role (viewer, reviewer, approver, brand_admin); BRAND '*' is every brand; repeatable",
    )
    a.add_argument(
        "--group", action="append", default=[], help="a group (approval stages may name groups); repeatable"
    )
    a.add_argument("--admin", action="store_true", help="global admin")
    a.add_argument("--service", action="store_true", help="a service account (API tokens only, no password)")
    a.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    a.add_argument(
        "--generate-password",
        action="store_true",
        help="print a one-time password to change at first sign-in",
    )
    u.add_parser("list", help="list accounts and roles")
    d = u.add_parser("disable", help="disable an account (its sessions end now)")
    d.add_argument("login")
    d.add_argument("--enable", action="store_true", help="enable it again instead")
    s = u.add_parser(
        "set-role",
        help="set (or with 'none' remove) an account's role in a brand; 'admin' alone: global admin",
    )
    s.add_argument("login")
    s.add_argument("brand", help="brand kit slug, '*' for every brand, or 'admin'")
    s.add_argument("role", nargs="?", help="viewer | reviewer | approver | brand_admin | none")
    g = u.add_parser("set-groups", help="replace a local account's groups")
    g.add_argument("login")
    g.add_argument("groups", nargs="*")
    r = u.add_parser("reset-password", help="print a one-time password for a local account")
    r.add_argument("login")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("tokens", help="API tokens of service accounts")
    t = p.add_subparsers(dest="tokens_command", required=True)
    c = t.add_parser("create", help="create a token (printed once)")
    c.add_argument("login", help="the account the token acts as")
    c.add_argument("--scope", action="append", required=True, choices=["read", "review", "approve"])
    c.add_argument("--days", type=float, default=90, help="lifetime in days (0: no expiry; default 90)")
    c.add_argument("--note", default="", help="what the token is for")
    t.add_parser("list", help="list tokens (never their values)")
    v = t.add_parser("revoke", help="revoke a token")
    v.add_argument("id", help="the token id (the part after cat_ and before the dot)")
    p.set_defaults(func=cmd_tokens)

    p = sub.add_parser("audit", help="check or export the hash-chained audit log")
    au = p.add_subparsers(dest="audit_command", required=True)
    vp = au.add_parser("verify", help="check every record's hash and link; names the first broken record")
    vp.add_argument("--archive", action="store_true", help="also compare with the daily copies in storage")
    ap = au.add_parser("archive", help="write completed days (or --day) to storage now")
    ap.add_argument("--day", help="one day (YYYY-MM-DD), also today's records so far")
    e = au.add_parser("export", help="export records")
    e.add_argument("--since", help="ISO date or date-time (UTC), inclusive")
    e.add_argument("--until", help="ISO date or date-time (UTC), exclusive")
    e.add_argument("--format", choices=["csv", "json"], default="json", help="csv, or JSON lines (default)")
    e.add_argument("--output", "-o", help="file to write (default: stdout)")
    p.set_defaults(func=cmd_audit)
