"""Push a segment to WeChat as tags: WeCom corp tags on customers, official-account user tags.

Staff then see the segment in their WeCom client (企业客户标签) and the official account
can send to it by tag. `wecom_targets` and `oa_targets` are pure Ibis: who to tag. The
sync functions take a wechatpy client (`wecom_client`, `oa_client`) and do the calls:
an error for one customer or openid is collected in the report; bad credentials, a
missing permission or an unreachable API stop the sync (`SyncAuthFailed`, `SyncError`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, TypeVar

import ibis
import ibis.expr.types as ir
import requests
from pydantic import SecretStr
from wechatpy.client import WeChatClient
from wechatpy.enterprise.client import WeChatClient as WeComWeChatClient
from wechatpy.exceptions import WeChatClientException

from siyu.identity.profiles import CHANGE_KEYS, STAFF_KEYS, WECOM_ADD, WECOM_CHANGE, WECOM_REMOVE
from siyu.segments.dialect import dialect_of
from siyu.segments.exceptions import SyncAuthFailed, SyncError

WECHAT_API_BASE: Final = "https://api.weixin.qq.com/cgi-bin/"
WECOM_API_BASE: Final = "https://qyapi.weixin.qq.com/cgi-bin/"
#: tags/members/batchtagging and batchuntagging take at most 50 openids (else 40032).
OA_BATCH: Final = 50
#: The access token went stale (another process fetched a new one): fetch, retry once.
_STALE_TOKEN: Final = frozenset({40001, 40014, 42001})
#: Credentials or permissions are wrong: no later call can succeed either.
_FATAL: Final = frozenset(
    {40001, 40002, 40013, 40014, 40125, 40164, 41001, 41002, 41004, 42001, 48001, 48002, 60020}
)
#: Official-account errors caused by one openid of a batch: the batch is retried one by one.
_OA_PER_OPENID: Final = frozenset({40003, 45059, 49003})

_SECRET_PARAM: Final = re.compile(r"\b(secret|corpsecret|access_token)=[^&\s'\")]+")

_T = TypeVar("_T")


# -- who to tag -------------------------------------------------------------------------


def wecom_targets(events: ir.Table, identities: ir.Table, person_ids: ir.Table) -> ir.Table:
    """person_id, staff_userid, external_userid for each person of ``person_ids`` (a table
    with ``person_id``) who is a WeCom customer.

    The staff member is the one of the person's latest ``add_external_contact`` among
    those whose contact has not ended since (``del_external_contact``,
    ``del_follow_user``); ``events`` carries ``person_id``. The external userid is the
    person's newest ``wecom_external_userid`` identity.
    """
    dialect = dialect_of(ibis.get_backend(events))
    props = events.properties
    staff = ibis.coalesce(*(dialect.json_text(props, k).nullif("") for k in STAFF_KEYS))
    change = ibis.coalesce(*(dialect.json_text(props, k).nullif("") for k in CHANGE_KEYS))
    action = ibis.cases((events.event == WECOM_CHANGE, change), else_=events.event)
    moves = events.filter(
        events.person_id.notnull(), events.event.isin([WECOM_CHANGE, *WECOM_ADD, *WECOM_REMOVE])
    ).mutate(staff_userid=staff, action=action)
    moves = moves.filter(
        moves.staff_userid.notnull(), moves.action.isin([*WECOM_ADD, *WECOM_REMOVE])
    )
    order = ibis.struct({"t": moves.event_time, "s": moves.seq})
    pairs = moves.group_by(["person_id", "staff_userid"]).aggregate(
        on=moves.action.isin(WECOM_ADD).argmax(order),
        last_t=moves.event_time.max(),
        last_s=moves.seq.argmax(order),
    )
    live = pairs.filter(pairs.on)
    latest = live.group_by("person_id").aggregate(
        staff_userid=live.staff_userid.argmax(ibis.struct({"t": live.last_t, "s": live.last_s}))
    )
    ids = identities.filter(identities.identity_type == "wecom_external_userid", ~identities.junk)
    external = ids.group_by("person_id").aggregate(
        external_userid=ids.identity_value.argmax(ids.node_order)
    )
    wanted = person_ids.select("person_id").distinct()
    joined = wanted.join(latest, "person_id").join(external, "person_id")
    return joined.select("person_id", "staff_userid", "external_userid")


def oa_targets(identities: ir.Table, person_ids: ir.Table, appid: str) -> ir.Table:
    """person_id, openid of each person of ``person_ids`` holding an openid of account
    ``appid`` (identity type ``oa_openid:<appid>``)."""
    if not appid:
        raise SyncError("no official-account appid; set SIYU_OA_APPID")
    ids = identities.filter(identities.identity_type == f"oa_openid:{appid}", ~identities.junk)
    wanted = person_ids.select("person_id").distinct()
    mine = ids.join(wanted, "person_id")
    return mine.select("person_id", openid=mine.identity_value).distinct()


# -- clients ----------------------------------------------------------------------------


class OfficialAccountClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's official-account client with every call, the token too, under one base.

    wechatpy 1.8 joins API calls to ``API_BASE_URL`` but fetches the token from a fixed
    ``https://api.weixin.qq.com/cgi-bin/token``, without a timeout.
    """

    def fetch_access_token(self) -> dict[str, Any]:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return _fetch_token(self, f"{self.API_BASE_URL}token", params)


class WeComClient(WeComWeChatClient):  # type: ignore[misc]
    """wechatpy's WeCom client with the token fetched under ``API_BASE_URL`` as well."""

    def fetch_access_token(self) -> dict[str, Any]:
        params = {"corpid": self.corp_id, "corpsecret": self.secret}
        return _fetch_token(self, f"{self.API_BASE_URL}gettoken", params)


def oa_client(
    appid: str,
    secret: str | SecretStr,
    api_base_url: str = WECHAT_API_BASE,
    *,
    timeout: float = 10.0,
) -> OfficialAccountClient:
    """An official-account client; ``api_base_url`` points at an API proxy or a stand-in."""
    plain = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not appid or not plain:
        raise SyncAuthFailed(
            "official-account sync needs SIYU_OA_APPID and SIYU_OA_SECRET (the AppSecret "
            "from mp.weixin.qq.com, 设置与开发 > 基本配置)"
        )
    client = OfficialAccountClient(appid, plain, timeout=timeout, auto_retry=False)
    client.API_BASE_URL = _with_slash(api_base_url)
    return client


def wecom_client(
    corp_id: str,
    secret: str | SecretStr,
    api_base_url: str = WECOM_API_BASE,
    *,
    timeout: float = 10.0,
) -> WeComClient:
    """A WeCom client; ``secret`` is the customer-contact (客户联系) secret."""
    plain = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not corp_id or not plain:
        raise SyncAuthFailed(
            "WeCom sync needs SIYU_WECOM_CORP_ID and SIYU_WECOM_SECRET (the 客户联系 secret, "
            "or a self-built app's secret allowed to call the customer-contact API)"
        )
    client = WeComClient(corp_id, plain, timeout=timeout, auto_retry=False)
    client.API_BASE_URL = _with_slash(api_base_url)
    return client


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else f"{url}/"


def _fetch_token(client: Any, url: str, params: dict[str, str]) -> dict[str, Any]:
    """Fetch and store an access token the way wechatpy does, with the client's timeout."""
    res = client._http.get(url, params=params, timeout=client.timeout)
    res.raise_for_status()
    result: dict[str, Any] = res.json()
    if result.get("errcode"):
        raise WeChatClientException(
            result["errcode"],
            result.get("errmsg"),
            client=client,
            request=res.request,
            response=res,
        )
    expires_in = int(result.get("expires_in", 7200))
    client.session.set(client.access_token_key, result["access_token"], expires_in)
    client.expires_at = int(time.time()) + expires_in
    return result


# -- reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetError:
    """One customer or openid WeChat refused: ``userid/external_userid`` or the openid."""

    target: str
    errcode: int | None
    errmsg: str


@dataclass(frozen=True)
class SyncReport:
    """What a sync did. ``tagged``/``untagged`` count targets WeChat accepted."""

    destination: str
    tag_name: str
    tag_id: str
    tag_created: bool
    tagged: int
    untagged: int
    errors: tuple[TargetError, ...]

    @property
    def failed(self) -> int:
        return len(self.errors)


class _Calls:
    """Calls through one client: one token refresh on a stale token, fatal errors raised."""

    def __init__(self, client: Any, product: str, settings_hint: str) -> None:
        self.client = client
        self.product = product
        self.hint = settings_hint

    def authenticate(self) -> None:
        """Get an access token now, so bad credentials stop the sync before any change."""
        try:
            self.client.access_token  # noqa: B018 - the property fetches the token
        except WeChatClientException as exc:
            raise SyncAuthFailed(self._refused(exc)) from None
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None

    def call(self, fn: Callable[[], _T]) -> _T:
        """``fn()``; WeChatClientException only for errors of this one call."""
        try:
            try:
                return fn()
            except WeChatClientException as exc:
                if _errcode(exc) not in _STALE_TOKEN:
                    raise
                self.client.fetch_access_token()
                return fn()
        except WeChatClientException as exc:
            if _errcode(exc) in _FATAL:
                raise SyncAuthFailed(self._refused(exc)) from None
            raise
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None

    def _refused(self, exc: WeChatClientException) -> str:
        return (
            f"the {self.product} API refused the credentials or permission "
            f"(errcode {_errcode(exc)}: {exc.errmsg}); {self.hint}"
        )

    def _unreachable(self, exc: requests.RequestException) -> SyncError:
        # requests puts the URL in its messages, and token URLs carry the secret.
        detail = _SECRET_PARAM.sub(r"\1=***", str(exc))
        return SyncError(
            f"cannot reach the {self.product} API at {self.client.API_BASE_URL}: {detail}; "
            "check the network, or the API base setting if you go through a proxy"
        )


def _errcode(exc: WeChatClientException) -> int | None:
    return None if exc.errcode is None else int(exc.errcode)


def _error(target: str, exc: WeChatClientException) -> TargetError:
    return TargetError(target, _errcode(exc), str(exc.errmsg or "HTTP error"))


def _unique(items: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(items))


def _setup(calls: _Calls, what: str, fn: Callable[[], _T]) -> _T:
    """A call the sync cannot go on without: any error stops it."""
    try:
        return calls.call(fn)
    except WeChatClientException as exc:
        raise SyncError(
            f"could not {what} in {calls.product} (errcode {_errcode(exc)}: {exc.errmsg})"
        ) from None


# -- WeCom ------------------------------------------------------------------------------

_WECOM_HINT: Final = (
    "check SIYU_WECOM_CORP_ID and SIYU_WECOM_SECRET (the 客户联系 secret, or a self-built "
    "app's secret listed under 客户联系 > API > 可调用应用), and the app's trusted IPs"
)


def sync_wecom_tags(
    client: WeComClient,
    targets: Iterable[tuple[str, str]],
    *,
    tag_name: str,
    group_name: str,
    remove_targets: Iterable[tuple[str, str]] = (),
) -> SyncReport:
    """Put corp tag ``group_name``/``tag_name`` on each (staff userid, external userid)
    and take it off ``remove_targets``; the tag (and group) is created when missing."""
    calls = _Calls(client, "WeCom", _WECOM_HINT)
    calls.authenticate()
    tag_id, created = _ensure_corp_tag(calls, tag_name, group_name)
    adds = _unique(targets)
    keep = set(adds)
    removes = [t for t in _unique(remove_targets) if t not in keep]
    errors: list[TargetError] = []
    mark = calls.client.external_contact.mark_tag
    counts = [0, 0]
    for side, todo in enumerate((adds, removes)):
        change = {"remove_tag" if side else "add_tag": [tag_id]}
        for userid, external in todo:
            try:
                calls.call(partial(mark, userid, external, **change))
            except WeChatClientException as exc:
                errors.append(_error(f"{userid}/{external}", exc))
            else:
                counts[side] += 1
    return SyncReport("wecom", tag_name, tag_id, created, counts[0], counts[1], tuple(errors))


def _ensure_corp_tag(calls: _Calls, tag_name: str, group_name: str) -> tuple[str, bool]:
    """The id of corp tag ``tag_name`` in group ``group_name``, creating it; whether new."""
    api = calls.client.external_contact
    listing = _setup(calls, "list the corp tags", api.get_corp_tag_list)
    group_id = None
    for group in listing.get("tag_group", []):
        if group.get("group_name") != group_name or group.get("deleted"):
            continue
        group_id = group["group_id"]
        for tag in group.get("tag", []):
            if tag.get("name") == tag_name and not tag.get("deleted"):
                return str(tag["id"]), False
        break
    # add_corp_tag: with group_id the tag joins that group, else group_name names a new one.
    made = _setup(
        calls,
        f"create the corp tag {group_name}/{tag_name}",
        lambda: api.add_corp_tag(
            group_id, None if group_id else group_name, None, [{"name": tag_name}]
        ),
    )
    for tag in made.get("tag_group", {}).get("tag", []):
        if tag.get("name") == tag_name:
            return str(tag["id"]), True
    raise SyncError(f"WeCom created the corp tag {group_name}/{tag_name} but returned no id")


# -- official account -------------------------------------------------------------------

_OA_HINT: Final = (
    "check SIYU_OA_APPID and SIYU_OA_SECRET, that this server's IP is in the account's IP "
    "whitelist (errcode 40164), and that the account may use user tags (48001)"
)


def sync_official_account_tags(
    client: OfficialAccountClient,
    openids: Iterable[str],
    *,
    tag_name: str,
    remove_openids: Iterable[str] = (),
) -> SyncReport:
    """Put user tag ``tag_name`` on ``openids`` and take it off ``remove_openids``, in
    batches of 50; the tag is created when missing."""
    calls = _Calls(client, "official account", _OA_HINT)
    calls.authenticate()
    tag_id, created = _ensure_oa_tag(calls, tag_name)
    adds = _unique(openids)
    keep = set(adds)
    removes = [o for o in _unique(remove_openids) if o not in keep]
    errors: list[TargetError] = []
    tagged = _oa_batches(calls, client.tag.tag_user, tag_id, adds, errors)
    untagged = _oa_batches(calls, client.tag.untag_user, tag_id, removes, errors)
    return SyncReport(
        "official_account", tag_name, str(tag_id), created, tagged, untagged, tuple(errors)
    )


def _ensure_oa_tag(calls: _Calls, tag_name: str) -> tuple[int, bool]:
    api = calls.client.tag
    for tag in _setup(calls, "list the user tags", api.get):
        if tag.get("name") == tag_name:
            return int(tag["id"]), False
    made = _setup(calls, f"create the user tag {tag_name!r}", lambda: api.create(tag_name))
    return int(made["id"]), True


def _oa_batches(
    calls: _Calls,
    send: Callable[[int, list[str]], Any],
    tag_id: int,
    openids: Sequence[str],
    errors: list[TargetError],
) -> int:
    """Send ``openids`` 50 at a time; the openids WeChat accepted."""
    done = 0
    for start in range(0, len(openids), OA_BATCH):
        batch = list(openids[start : start + OA_BATCH])
        try:
            calls.call(partial(send, tag_id, batch))
        except WeChatClientException as exc:
            if _errcode(exc) not in _OA_PER_OPENID or len(batch) == 1:
                errors.extend(_error(o, exc) for o in batch)
                continue
            # One bad openid fails the whole batch: find it by sending each alone.
            done += _oa_one_by_one(calls, send, tag_id, batch, errors)
        else:
            done += len(batch)
    return done


def _oa_one_by_one(
    calls: _Calls,
    send: Callable[[int, list[str]], Any],
    tag_id: int,
    batch: list[str],
    errors: list[TargetError],
) -> int:
    done = 0
    for openid in batch:
        try:
            calls.call(partial(send, tag_id, [openid]))
        except WeChatClientException as exc:
            errors.append(_error(openid, exc))
        else:
            done += 1
    return done
