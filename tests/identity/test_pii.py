"""Phone and email: normalised, masked, sealed at rest — end to end over real edges."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import hypothesis.strategies as st
import phonenumbers
import pyarrow as pa
import pytest
from hypothesis import given
from segment import analytics

from siyu.config import PII_KEY_BYTES, Settings
from siyu.exceptions import ConfigError
from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.pii import mask, normalise_email, normalise_phone, normalise_value
from siyu.storage import Warehouse
from siyu.storage.exceptions import SealBroken
from siyu.storage.sealing import Sealer, pair_keys, seal_identities
from tests.conftest import LiveServer

PHONE = "+8613800138000"
NO_PLAINTEXT = "SELECT count(*) FROM {table} WHERE CAST(identities AS VARCHAR) LIKE '%{digits}%'"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "+86-138-0013-8000",
        "+86 138 0013 8000",
        "8613800138000",
        "008613800138000",
        " 138-0013-8000 ",
        "１３８００１３８０００",
    ],
)
def test_mainland_numbers_become_e164(raw: str) -> None:
    assert normalise_phone(raw) == PHONE


@given(
    st.booleans(),
    # Not 179…: the library reads 179xx as an IP-dialling prefix (below).
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True).filter(lambda d: not d.startswith("179")),
    st.lists(st.sampled_from(["", " ", "-", "  "]), min_size=12, max_size=12),
)
def test_spaced_mobiles_read_as_the_phone_library_reads_them(
    plus: bool, digits: str, gaps: list[str]
) -> None:
    """Mainland mobiles with spaces or dashes skip the phone library; same answer."""
    raw = ("+86" + gaps[0] if plus else "") + "".join(
        d + gap for d, gap in zip(digits, gaps[1:], strict=True)
    )
    library = phonenumbers.format_number(
        phonenumbers.parse(raw, "CN"), phonenumbers.PhoneNumberFormat.E164
    )
    assert normalise_phone(raw) == library == "+86" + digits


@pytest.mark.parametrize("raw", ["17900001000", "179 0000 1000", "+86 179-0000-1000"])
def test_an_eleven_digit_179_number_stays_whole(raw: str) -> None:
    """phonenumbers strips 179xx from a national number as an IP-dialling prefix (17900001000
    becomes +1000, which strangers would share, and 17900008000 fails to parse); an id is
    kept as the eleven digits written, so two such values never meet by accident."""
    assert normalise_phone(raw) == "+8617900001000"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 415-555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("010-12345678", "+861012345678"),  # a Beijing landline
        ("19912345678", "+8619912345678"),
    ],
)
def test_other_numbers(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize(
    "raw", ["", "138", "abc", "12345678901", "138001380001", "+861380013800", "1" * 41]
)
def test_junk_phones_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(InvalidIdentity, match="phone") as caught:
        normalise_phone(raw)
    digits = "".join(c for c in raw if c.isdigit())
    assert len(digits) < 6 or digits[-6:] not in str(caught.value)


def test_emails() -> None:
    assert normalise_email("  Zhang.San+vip@Example.COM ") == "zhang.san+vip@example.com"
    assert normalise_email("张三@例子.中国") == "张三@例子.中国"
    for junk in ["", "zhang", "a@b", "a@@b.cn", "a b@c.cn", "@b.cn", "a@-b.cn", "a@b.1"]:
        with pytest.raises(InvalidIdentity, match="email"):
            normalise_email(junk)


def test_normalise_value_dispatches_on_the_base_type() -> None:
    assert normalise_value("phone", "138 0013 8000") == PHONE
    assert normalise_value("email", "A@B.CN") == "a@b.cn"
    assert normalise_value("mp_openid:wx1", " oAbC ") == "oAbC"


def test_masks() -> None:
    assert mask("phone", PHONE) == "+86 138****8000"
    assert mask("phone", "+14155552671") == "+1 415***2671"
    assert mask("email", "zhang@example.com") == "z***@example.com"
    assert mask("member_id", "M001") == "M001"


def test_seal_is_deterministic_and_round_trips() -> None:
    sealer = Sealer.random()
    sealed = sealer.seal(PHONE)
    assert sealed.startswith("s1.") and "=" not in sealed and "13800138000" not in sealed
    assert sealer.seal(PHONE) == sealed
    assert sealer.seal(sealed) == sealed  # sealing twice changes nothing
    assert sealer.unseal(sealed) == PHONE
    assert Sealer.random().seal(PHONE) != sealed
    with pytest.raises(SealBroken, match="another"):
        Sealer.random().unseal(sealed)
    assert not Sealer.is_sealed("s1.ab@example.com")


@given(st.text(max_size=300))
def test_any_text_round_trips(text: str) -> None:
    sealer = _SEALER
    assert sealer.unseal(sealer.seal(text)) == text or Sealer.is_sealed(text)


_SEALER = Sealer.random()

_PHONE_LIKE = st.one_of(
    st.from_regex(r"\s?(\+86)?1[0-9]{10}\s?", fullmatch=True),
    st.from_regex(r"\+86 1[3-9][0-9] [0-9]{4} [0-9]{4}", fullmatch=True),
    st.from_regex(r"(\+86[ -]?)?1[3-9][0-9][ -]*[0-9]{4}-?[0-9]{4} ?", fullmatch=True),
    st.sampled_from(
        ["", "abc", "s1.AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "+1 415-555-2671", "\u300013912345678"]
    ),
    st.text(max_size=20),
)


@given(st.lists(st.tuples(st.sampled_from(["phone", "phone:x", "email", "phones"]), _PHONE_LIKE)))
def test_sealing_a_column_matches_sealing_one_value_at_a_time(pairs: list[tuple[str, str]]) -> None:
    """The column path (mobiles normalised by Arrow kernels) agrees with `seal_identity`."""
    key = os.urandom(PII_KEY_BYTES)
    types = pa.array([t for t, _ in pairs], pa.string())
    values = pa.array([v for _, v in pairs], pa.string())
    column = Sealer(key).seal_pairs(pair_keys(types, values)).to_pylist()
    one_by_one = Sealer(key)
    assert column == [one_by_one.seal_identity(t, v) for t, v in pairs]


def test_seal_identities_keeps_other_ids_nulls_and_slices() -> None:
    sealer = Sealer.random()
    maps = pa.array(
        [
            [("phone", "138 0013 8000"), ("login_id", "u1")],
            None,
            [("email", "not-an-email"), ("unionid", "un-1")],
            [],
            [("email", "A@B.CN"), ("phone", None)],
        ],
        pa.map_(pa.string(), pa.string()),
    )
    table = pa.table({"n": range(5), "identities": maps}).slice(0, 5)
    table = pa.concat_tables([table.slice(0, 2), table.slice(2)])  # two chunks, one sliced
    got = seal_identities(table, sealer)["identities"].to_pylist()

    def opened(row: list[tuple[str, str | None]] | None) -> object:
        if row is None:
            return None
        return {k: sealer.unseal(v) if v and sealer.is_sealed(v) else v for k, v in row}

    assert [opened(r) for r in got] == [
        {"phone": PHONE, "login_id": "u1"},
        None,
        {"unionid": "un-1"},  # the invalid email is dropped, the event kept
        {},
        {"email": "a@b.cn", "phone": None},
    ]


def test_key_file_is_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = Sealer.from_settings(settings)
    mode = stat.S_IMODE(settings.pii_key_path.stat().st_mode)
    assert mode == 0o600
    assert Sealer.from_settings(settings).seal(PHONE) == first.seal(PHONE)
    settings.pii_key_path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Sealer.from_settings(settings)


def test_configured_key_wins_and_placeholders_are_refused(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(64)).decode()
    settings = Settings(home=tmp_path / "home", pii_key=key)
    assert Sealer.from_settings(settings).unseal(Sealer(base64.b64decode(key)).seal(PHONE))
    assert not settings.pii_key_path.exists()
    assert key not in repr(settings)
    for bad in ["changeme", base64.b64encode(b"\0" * 64).decode(), "not base64!"]:
        with pytest.raises(ConfigError, match="SIYU_PII_KEY"):
            Settings(home=tmp_path, pii_key=bad)


def test_a_different_key_cannot_open_sealed_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Warehouse.open(Settings(home=home)).close()
    other = base64.b64encode(os.urandom(64)).decode()
    with pytest.raises(ConfigError, match="not the key"):
        Warehouse.open(Settings(home=home, pii_key=other))
    (home / "pii.key").unlink()
    with pytest.raises(ConfigError, match="missing"):
        Warehouse.open(Settings(home=home))


def test_http_collector_stores_no_plaintext_phone(live_server: LiveServer) -> None:
    client = analytics.Client(live_server.key(), host=live_server.url, sync_mode=True)
    client.identify(user_id="u-1", traits={"phone": "138 0013 8000", "email": "Zhang@Example.com"})
    client.identify(user_id="u-2", traits={"phone": "12345"})  # kept, without the phone
    count = NO_PLAINTEXT.format(table="events", digits="13800138000")
    assert live_server.query(count) == [(0,)]
    assert live_server.query(NO_PLAINTEXT.format(table="events", digits="xample.com")) == [(0,)]
    rows = live_server.query("SELECT user_id, identities FROM events ORDER BY user_id")
    sealer = Sealer.from_settings(live_server.runtime.settings, create=False)
    assert [r[0] for r in rows] == ["u-1", "u-2"]
    ids = [r[1] for r in rows]
    assert isinstance(ids[0], dict) and isinstance(ids[1], dict)
    assert sealer.unseal(ids[0]["phone"]) == PHONE
    assert sealer.unseal(ids[0]["email"]) == "zhang@example.com"
    assert "phone" not in ids[1]


def test_imports_store_no_plaintext_phone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    users = tmp_path / "users.csv"
    users.write_text("member_id,phone,email\nM1,138 0013 8000,A@B.CN\nM2,138,\n", encoding="utf-8")
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,id_phone,paid_at,amount_fen\nO1,+86-138-0013-8000,2026-11-01 10:00,100\n",
        encoding="utf-8",
    )
    for kind, path in (("users", users), ("orders", orders)):
        subprocess.run(
            [sys.executable, "-m", "siyu", "import", kind, str(path), "--json"],
            env={**os.environ, "SIYU_HOME": str(home)},
            check=True,
            capture_output=True,
            timeout=300,
        )
    settings = Settings(home=home)
    assert stat.S_IMODE(settings.pii_key_path.stat().st_mode) == 0o600
    con = duckdb.connect(str(settings.database_path), read_only=True)
    try:
        for table in ("events", "orders"):
            assert _count(con, NO_PLAINTEXT.format(table=table, digits="13800138000")) == 0
        events = con.execute("SELECT identities FROM events ORDER BY properties").fetchall()
        (order,) = con.execute("SELECT identities FROM orders").fetchone() or ()
    finally:
        con.close()
    sealer = Sealer.from_settings(settings, create=False)
    phones = {sealer.unseal(ids["phone"]) for (ids,) in events if "phone" in ids}
    assert phones == {PHONE}
    assert sealer.unseal(order["phone"]) == PHONE
    assert order["phone"] == next(ids["phone"] for (ids,) in events if "phone" in ids)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
