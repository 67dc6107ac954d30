"""``station token``: create, revoke and list the bearer tokens tablets use."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from station.storage.opening import open_store


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "token",
        help="create, revoke or list API tokens",
        description="Bearer tokens for tablets. Roles: coach (record, view) and admin "
        "(also calibrate, delete, manage tokens). The secret is shown once, at creation.",
    )
    p.add_argument("--data-dir", type=Path, help="the station's data folder (default: from the configuration)")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    c = tsub.add_parser("create", help="create a token and print its secret once")
    c.add_argument("name", help="a name for the tablet or person (letters, digits, . _ @ -)")
    c.add_argument("--role", choices=("coach", "admin"), required=True)
    c.set_defaults(func=create)
    r = tsub.add_parser("revoke", help="revoke a token by name")
    r.add_argument("name")
    r.set_defaults(func=revoke)
    ls = tsub.add_parser("list", help="list active tokens (never their secrets)")
    ls.add_argument("--all", action="store_true", help="include revoked tokens")
    ls.set_defaults(func=list_tokens)
    for q in (c, r, ls):
        q.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def create(args: argparse.Namespace) -> int:
    # Never create the database here: a wrong --data-dir would get an empty database
    # with a token nobody's station reads (the service creates it at its first start).
    store = open_store(args.data_dir)
    try:
        secret, row = store.create_token(name=args.name, role=args.role, actor=_actor())
    finally:
        store.close()
    print(secret)
    print(
        f"Token {row['name']!r} ({row['role']}) created. Copy the secret above now: it is stored "
        "hashed and cannot be shown again. Tablets send it as 'Authorization: Bearer <secret>'.",
        file=sys.stderr,
    )
    return 0


def revoke(args: argparse.Namespace) -> int:
    store = open_store(args.data_dir)
    try:
        store.revoke_token(args.name, actor=_actor())
    finally:
        store.close()
    print(f"Token {args.name!r} revoked.")
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    store = open_store(args.data_dir)
    try:
        rows = store.list_tokens(include_revoked=args.all)
    finally:
        store.close()
    if not rows:
        print("No tokens." + ("" if args.all else " Create one with `station token create NAME --role coach`."))
        return 0
    print(f"{'NAME':<24} {'ROLE':<6} {'CREATED':<30} REVOKED")
    for r in rows:
        print(f"{r['name']:<24} {r['role']:<6} {r['created_at']:<30} {r['revoked_at'] or ''}")
    return 0
