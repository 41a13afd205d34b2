"""``creative-assets credentials init | show``: the local test CA, and a file's Content Credentials."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from creative_assets import settings


def add_commands(sub) -> None:
    p = sub.add_parser("credentials", help="C2PA Content Credentials: test CA, show a file's credential")
    cmds = p.add_subparsers(dest="credentials_command", required=True)
    q = cmds.add_parser("init", help="create a self-signed TEST CA and signing certificate under var/")
    q.add_argument("--dir", help="folder (default: $CREATIVE_ASSETS_C2PA_TEST_CA or var/credentials)")
    q.add_argument("--force", action="store_true", help="replace an existing test CA")
    q.set_defaults(func=cmd_init)
    q = cmds.add_parser("show", help="print the manifest chain of a PNG/JPEG and verify it")
    q.add_argument("file")
    q.add_argument("--trust-anchors", help="PEM roots to trust (default: as configured, or the test CA)")
    q.set_defaults(func=cmd_show)


def _configured_status():
    from creative_assets.definitions import configured_credentials

    with configured_credentials() as credentials:
        return credentials.status()


def cmd_init(args: argparse.Namespace) -> int:

    from creative_assets.credentials_ca import init_test_ca
    from creative_assets.settings import default_credentials_dir

    folder = Path(args.dir or settings.get("CREATIVE_ASSETS_C2PA_TEST_CA") or default_credentials_dir())
    ca, created = init_test_ca(folder, force=args.force)
    print(f"{'created' if created else 'kept the existing'} TEST CA in {ca.folder}")
    print(
        f"  trust anchor:      {ca.ca}\n  certificate chain: {ca.chain}\n  private key:       {ca.key} (mode 0600)"
    )
    print(
        "Finals are now signed with it (CREATIVE_ASSETS_CREDENTIALS=auto) and marked TEST-SIGNED. "
        "Production: a CA-issued certificate (README 'Content Credentials')."
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from creative_assets import credentials as c2

    path = Path(args.file)
    if not path.is_file():
        print(f"✗ no such file: {path}", file=sys.stderr)
        return 2
    if not c2.AVAILABLE:
        print(f"✗ content credentials are disabled: {c2.UNAVAILABLE_REASON}", file=sys.stderr)
        return 2
    anchors = (
        Path(args.trust_anchors).read_bytes() if args.trust_anchors else _configured_status().trust_anchors
    )
    try:
        fmt = c2.mime_type(path.name.lower())
    except ValueError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    cred = c2.read_credential(path.read_bytes(), fmt, anchors)
    print(f"{path}")
    print(c2.describe(cred))
    return 0 if cred.present and not cred.integrity_failures else 1
