"""`siyu users …`: console users (运营后台账号) and their roles."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli.backend import Backend
from siyu.cli.output import console, fail, print_json
from siyu.exceptions import SiyuError

users_app = typer.Typer(
    help="Console users (运营后台账号): admin, operator, analyst.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
Name = Annotated[str, typer.Argument(help="the user name used to sign in")]
ROLE_HELP = "admin (everything), operator (changes segments, tags, campaigns), analyst (reads)"


def _op(op: str, **args: Any) -> Any:
    from siyu.cli.main import _backend

    with _backend() as backend:
        try:
            return backend.users(op, **args)
        except SiyuError as exc:
            fail(str(exc))


@users_app.command("list")
def users_list(json_out: JsonFlag = False) -> None:
    """List the console users."""
    rows = _op("list")
    if json_out:
        print_json(rows)
        return
    table = Table("user", "name", "role", "state", "last sign-in")
    for row in rows:
        state = "disabled" if row["disabled"] else ("locked" if row["locked_until"] else "ok")
        table.add_row(
            row["username"], row["display_name"], row["role"], state, row["last_login_at"] or "—"
        )
    console.print(table)


@users_app.command("add")
def users_add(
    username: Name,
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "operator",
    display_name: Annotated[str | None, typer.Option(help="name shown in the console")] = None,
    language: Annotated[str, typer.Option(help="zh-CN or en")] = "zh-CN",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Add a user; without --password-stdin a strong password is generated and shown once."""
    password = typer.get_text_stream("stdin").readline().rstrip("\n") if password_stdin else None
    user = _op(
        "add",
        username=username,
        role=role,
        password=password,
        display_name=display_name,
        language=language,
    )
    if json_out:
        print_json(user)
        return
    console.print(f"added [bold]{user['username']}[/] ({user['role']})")
    if user.get("password"):
        show_password(user["username"], user["password"])


def show_password(username: str, password: str) -> None:
    console.print(
        f"  sign in at /console as [bold]{username}[/] with password [bold]{password}[/]\n"
        "  (shown once: it is stored only as an argon2 hash)"
    )


@users_app.command("set")
def users_set(
    username: Name,
    role: Annotated[str | None, typer.Option(help=ROLE_HELP)] = None,
    disable: Annotated[bool, typer.Option("--disable", help="stop the user signing in")] = False,
    enable: Annotated[bool, typer.Option("--enable", help="let a disabled user sign in")] = False,
    unlock: Annotated[bool, typer.Option("--unlock", help="lift a lock-out")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Change a user's role, enable or disable it, or lift a lock-out."""
    if disable and enable:
        fail("--disable and --enable contradict each other; pass one")
    disabled = True if disable else (False if enable else None)
    _print_user(
        _op("change", username=username, role=role, disabled=disabled, unlock=unlock), json_out
    )


@users_app.command("unlock")
def users_unlock(username: Name, json_out: JsonFlag = False) -> None:
    """Lift the lock-out after too many failed sign-ins."""
    _print_user(_op("change", username=username, unlock=True), json_out)


@users_app.command("passwd")
def users_passwd(
    username: Name,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new password from standard input")
    ] = False,
) -> None:
    """Set a new password (read from standard input, or prompted); ends the user's sessions."""
    if password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\n")
    else:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    _op("change", username=username, password=password)
    console.print(f"password of [bold]{username}[/] changed; their sessions ended")


def _print_user(user: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(user)
    else:
        state = "disabled" if user["disabled"] else "enabled"
        console.print(f"{user['username']}: {user['role']}, {state}")


def ensure_first_admin(backend: Backend) -> dict[str, Any] | None:
    """Create user ``admin`` with a generated password when there are no users yet;
    returns it (with the password, to show once) or None."""
    if backend.users("list"):
        return None
    user: dict[str, Any] = backend.users("add", username="admin", role="admin")
    return user
