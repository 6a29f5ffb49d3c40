"""Operator commands: `python -m services.auth [create-admin | public-key | generate-keypair]`.

Without a command the service runs.
"""

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from libs.contracts.caller import Role
from libs.servicekit.errors import ServiceError
from libs.servicekit.mongo import create_mongo_client
from services.auth.accounts.handlers import create_active_account
from services.auth.accounts.store import AuthStore
from services.auth.config import AuthSettings
from services.auth.main import SERVICE, main
from services.auth.passwords.hashing import password_hasher
from services.auth.sessions.access_tokens import load_private_key, public_key_pem, write_key_pair


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.auth",
                                     description="MyBroker auth service (runs without a command)")
    commands = parser.add_subparsers(dest="command")

    admin = commands.add_parser(
        "create-admin", help="create an office admin (password from "
        "MYBROKER_AUTH_BOOTSTRAP_ADMIN_PASSWORD, else asked)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True, help="display name")
    admin.add_argument("--role", choices=[Role.ADMIN.value, Role.AGENT.value],
                       default=Role.ADMIN.value)

    public = commands.add_parser(
        "public-key", help="print the public key PEM of MYBROKER_AUTH_JWT_PRIVATE_KEY_PATH")
    public.add_argument("--private", type=Path, help="read this private key file instead")

    pair = commands.add_parser("generate-keypair", help="write a new Ed25519 key pair (PEM)")
    pair.add_argument("--private", type=Path, required=True)
    pair.add_argument("--public", type=Path, required=True)
    pair.add_argument("--force", action="store_true", help="replace an existing private key")
    return parser


def _ask_password() -> str:
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise SystemExit("The passwords differ.")
    return password


async def _create_admin(settings: AuthSettings, email: str, name: str, role: Role) -> None:
    password = settings.bootstrap_admin_password.get_secret_value() or _ask_password()
    client = create_mongo_client(settings.mongo_url)
    store = AuthStore(client[settings.database_name(SERVICE)])
    try:
        await store.ensure_indexes()
        account = await create_active_account(
            store, password_hasher(settings), email, name, role, password
        )
    except ServiceError as error:
        raise SystemExit(f"Not created: {error.detail}") from None
    finally:
        await client.close()
    print(f"Created {account.role.value} {account.email} (user id {account.user_id}).")


def _print_public_key(settings: AuthSettings, private_path: Path | None) -> None:
    path = private_path or (Path(settings.jwt_private_key_path)
                            if settings.jwt_private_key_path else None)
    if path is None:
        raise SystemExit("MYBROKER_AUTH_JWT_PRIVATE_KEY_PATH is not set (or pass --private).")
    sys.stdout.write(public_key_pem(load_private_key(path)).decode())


def _generate_keypair(private_path: Path, public_path: Path, force: bool) -> None:
    if private_path.exists() and not force:
        raise SystemExit(f"{private_path} exists; pass --force to replace the signing key.")
    write_key_pair(private_path, public_path)
    print(f"Wrote {private_path} (mode 0600) and {public_path}.")


def run(argv: list[str]) -> None:
    """Dispatch a command line; no command runs the service."""
    arguments = _parser().parse_args(argv)
    if arguments.command is None:
        main()
    elif arguments.command == "create-admin":
        asyncio.run(_create_admin(AuthSettings(), arguments.email, arguments.name,
                                  Role(arguments.role)))
    elif arguments.command == "public-key":
        _print_public_key(AuthSettings(), arguments.private)
    else:
        _generate_keypair(arguments.private, arguments.public, arguments.force)
