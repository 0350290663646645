"""A stand-in for the WeChat official-account and WeCom APIs, served on 127.0.0.1.

It answers the endpoints siyu calls in their documented shapes and error codes, keeps
state (tokens, tags, who is tagged) and records every call, so tests drive the real
wechatpy clients over a socket and then assert the end state. Only what siyu uses is
here; see the official docs cited per handler.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request as the stand-in saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class CorpTag:
    id: str
    name: str
    group_id: str
    group_name: str
    create_time: int


@dataclass
class WeChatState:
    """Everything the stand-in knows; tests set it up and read it back."""

    oa_apps: dict[str, str] = field(default_factory=dict)  # appid -> secret
    oa_followers: dict[str, set[str]] = field(default_factory=dict)  # appid -> openids
    oa_tags: dict[str, dict[int, str]] = field(default_factory=dict)  # appid -> id -> name
    oa_tagged: dict[str, dict[int, set[str]]] = field(default_factory=dict)
    corps: dict[str, str] = field(default_factory=dict)  # corpid -> secret
    #: corpid -> (staff userid, external userid) pairs that are contacts
    contacts: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    corp_tags: dict[str, list[CorpTag]] = field(default_factory=dict)
    #: corpid -> (userid, external userid) -> tag ids
    marked: dict[str, dict[tuple[str, str], set[str]]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (kind, id)


class WeChatStandin:
    """The server; `oa_url` and `wecom_url` are the API base URLs to give the clients."""

    def __init__(self) -> None:
        self.state = WeChatState()
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(100)  # official-account tag ids 0-2 are the system's
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/cgi-bin/"

    oa_url = url
    wecom_url = url

    def start(self) -> WeChatStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # -- set-up and read-back for tests ---------------------------------------------

    def add_official_account(self, appid: str, secret: str, followers: set[str]) -> None:
        with self._lock:
            self.state.oa_apps[appid] = secret
            self.state.oa_followers[appid] = set(followers)
            self.state.oa_tags[appid] = {2: "星标组"}
            self.state.oa_tagged[appid] = {2: set()}

    def add_corp(self, corp_id: str, secret: str, contacts: set[tuple[str, str]]) -> None:
        with self._lock:
            self.state.corps[corp_id] = secret
            self.state.contacts[corp_id] = set(contacts)
            self.state.corp_tags[corp_id] = []
            self.state.marked[corp_id] = {}

    def oa_tagged(self, appid: str, tag_name: str) -> set[str]:
        """Openids holding user tag ``tag_name``."""
        with self._lock:
            for tag_id, name in self.state.oa_tags[appid].items():
                if name == tag_name:
                    return set(self.state.oa_tagged[appid][tag_id])
        return set()

    def wecom_tagged(self, corp_id: str, tag_name: str) -> set[tuple[str, str]]:
        """(userid, external userid) pairs carrying corp tag ``tag_name``."""
        with self._lock:
            ids = {t.id for t in self.state.corp_tags[corp_id] if t.name == tag_name}
            return {pair for pair, tags in self.state.marked[corp_id].items() if tags & ids}

    def revoke_tokens(self) -> None:
        """Invalidate every token, as a token fetched elsewhere does."""
        with self._lock:
            self.state.tokens.clear()

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path.endswith(path)]

    # -- dispatch ---------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        with self._lock:
            self.calls.append(Call(method, path, query, body))
            route = _ROUTES.get((method, path.removeprefix("/cgi-bin/")))
            if route is None:
                return {"_status": 404}
            kind, needs_token = route[0], route[1]
            owner = ""
            if needs_token:
                token = query.get("access_token")
                if not token:
                    return _err(41001, "access_token missing")
                held = self.state.tokens.get(token)
                if held is None or held[0] != kind:
                    return _err(40014, "invalid access_token")
                owner = held[1]
            if body is _BAD_JSON:
                return _err(47001, "data format error")
            answer: Answer = route[2](self, owner, query, body)
            return answer

    # -- official account (developers.weixin.qq.com/doc/offiaccount) ----------------

    def _oa_token(self, _: str, query: dict[str, str], __: Any) -> Answer:
        appid = query.get("appid", "")
        if query.get("grant_type") != "client_credential":
            return _err(40002, "invalid grant_type")
        if appid not in self.state.oa_apps:
            return _err(40013, "invalid appid")
        if query.get("secret") != self.state.oa_apps[appid]:
            return _err(40125, "invalid appsecret")
        return {"access_token": self._token("oa", appid), "expires_in": 7200}

    def _oa_tag_create(self, appid: str, _: dict[str, str], body: Any) -> Answer:
        name = str(body.get("tag", {}).get("name", ""))
        tags = self.state.oa_tags[appid]
        if not name or name in tags.values():
            return _err(45157, "invalid tag name")
        if len(name.encode()) > 30:
            return _err(45158, "tag name too long")
        tag_id = next(self._ids)
        tags[tag_id] = name
        self.state.oa_tagged[appid][tag_id] = set()
        return {"tag": {"id": tag_id, "name": name}}

    def _oa_tag_get(self, appid: str, _: dict[str, str], __: Any) -> Answer:
        tagged = self.state.oa_tagged[appid]
        return {
            "tags": [
                {"id": i, "name": n, "count": len(tagged[i])}
                for i, n in self.state.oa_tags[appid].items()
            ]
        }

    def _oa_batch(self, appid: str, body: Any, add: bool) -> Answer:
        openids = body.get("openid_list") or []
        if not openids or len(openids) > 50:
            return _err(40032, "invalid openid list size")
        tag_id = body.get("tagid")
        if tag_id not in self.state.oa_tags[appid]:
            return _err(45159, "invalid tag id")
        # The whole batch is refused when one openid is not a follower.
        if any(o not in self.state.oa_followers[appid] for o in openids):
            return _err(40003, "invalid openid")
        holders = self.state.oa_tagged[appid][tag_id]
        if add:
            holders.update(openids)
        else:
            holders.difference_update(openids)
        return _ok()

    def _oa_tagging(self, appid: str, _: dict[str, str], body: Any) -> Answer:
        return self._oa_batch(appid, body, add=True)

    def _oa_untagging(self, appid: str, _: dict[str, str], body: Any) -> Answer:
        return self._oa_batch(appid, body, add=False)

    # -- WeCom (developer.work.weixin.qq.com/document/path/92117, 92118) -----------

    def _wecom_token(self, _: str, query: dict[str, str], __: Any) -> Answer:
        corp = query.get("corpid", "")
        if corp not in self.state.corps:
            return _err(40013, "invalid corpid")
        if query.get("corpsecret") != self.state.corps[corp]:
            return _err(40001, "invalid credential")
        return {
            "errcode": 0,
            "errmsg": "ok",
            "access_token": self._token("wecom", corp),
            "expires_in": 7200,
        }

    def _corp_tag_list(self, corp: str, _: dict[str, str], body: Any) -> Answer:
        groups: dict[str, Answer] = {}
        wanted = set((body or {}).get("tag_id") or [])
        for tag in self.state.corp_tags[corp]:
            if wanted and tag.id not in wanted:
                continue
            group = groups.setdefault(
                tag.group_id,
                {
                    "group_id": tag.group_id,
                    "group_name": tag.group_name,
                    "create_time": tag.create_time,
                    "order": 0,
                    "deleted": False,
                    "tag": [],
                },
            )
            group["tag"].append(
                {
                    "id": tag.id,
                    "name": tag.name,
                    "create_time": tag.create_time,
                    "order": 0,
                    "deleted": False,
                }
            )
        return {**_ok(), "tag_group": list(groups.values())}

    def _add_corp_tag(self, corp: str, _: dict[str, str], body: Any) -> Answer:
        tags = self.state.corp_tags[corp]
        names = [str(t.get("name", "")) for t in body.get("tag") or []]
        if not names or any(not n or len(n) > 30 for n in names):
            return _err(40071, "invalid tag name")
        group_id = body.get("group_id")
        if group_id:
            group = [t for t in tags if t.group_id == group_id]
            if not group:
                return _err(40068, "invalid tagid")
            group_name = group[0].group_name
        else:
            group_name = str(body.get("group_name") or "")
            if not group_name or len(group_name) > 30:
                return _err(40071, "invalid tag group name")
            same = [t for t in tags if t.group_name == group_name]
            group_id = same[0].group_id if same else f"etG{secrets.token_hex(6)}"
        if any(t.group_id == group_id and t.name in names for t in tags):
            return _err(40071, "UserTag Name Already Exist")
        now = int(time.time())
        made = [CorpTag(f"et{secrets.token_hex(8)}", n, group_id, group_name, now) for n in names]
        tags.extend(made)
        return {
            **_ok(),
            "tag_group": {
                "group_id": group_id,
                "group_name": group_name,
                "create_time": now,
                "order": 0,
                "tag": [{"id": t.id, "name": t.name, "create_time": now, "order": 0} for t in made],
            },
        }

    def _mark_tag(self, corp: str, _: dict[str, str], body: Any) -> Answer:
        pair = (str(body.get("userid", "")), str(body.get("external_userid", "")))
        if pair not in self.state.contacts[corp]:
            return _err(84061, "not external contact")
        known = {t.id for t in self.state.corp_tags[corp]}
        add, remove = set(body.get("add_tag") or []), set(body.get("remove_tag") or [])
        if not (add | remove) <= known:
            return _err(40068, "invalid tagid")
        held = self.state.marked[corp].setdefault(pair, set())
        held |= add
        held -= remove
        return _ok()

    def _token(self, kind: str, owner: str) -> str:
        token = secrets.token_urlsafe(24)
        self.state.tokens[token] = (kind, owner)
        return token


Route = tuple[str, bool, Callable[[WeChatStandin, str, dict[str, str], Any], Answer]]
_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "token"): ("oa", False, WeChatStandin._oa_token),
    ("POST", "tags/create"): ("oa", True, WeChatStandin._oa_tag_create),
    ("GET", "tags/get"): ("oa", True, WeChatStandin._oa_tag_get),
    ("POST", "tags/members/batchtagging"): ("oa", True, WeChatStandin._oa_tagging),
    ("POST", "tags/members/batchuntagging"): ("oa", True, WeChatStandin._oa_untagging),
    ("GET", "gettoken"): ("wecom", False, WeChatStandin._wecom_token),
    ("POST", "externalcontact/get_corp_tag_list"): ("wecom", True, WeChatStandin._corp_tag_list),
    ("POST", "externalcontact/add_corp_tag"): ("wecom", True, WeChatStandin._add_corp_tag),
    ("POST", "externalcontact/mark_tag"): ("wecom", True, WeChatStandin._mark_tag),
}
_BAD_JSON = object()


def _ok() -> Answer:
    return {"errcode": 0, "errmsg": "ok"}


def _err(code: int, message: str) -> Answer:
    return {"errcode": code, "errmsg": f"{message}, hint: [standin]"}


def _handler(standin: WeChatStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET", None)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = _BAD_JSON
            self._answer("POST", body)

        def _answer(self, method: str, body: Any) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            answer = standin.handle(method, parts.path, query, body)
            status = int(answer.pop("_status", 200))
            data = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the calls are recorded in `WeChatStandin.calls`."""

    return Handler


@contextmanager
def running_standin() -> Iterator[WeChatStandin]:
    standin = WeChatStandin().start()
    try:
        yield standin
    finally:
        standin.stop()
