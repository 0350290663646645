"""WeChat official-account server callbacks (spec section 4) to canonical records.

wechatpy checks signatures, decrypts safe-mode bodies and parses the XML. Each callback
becomes one record on carrier ``oa`` whose identity is the follower's openid; the event
name is WeChat's own (``subscribe``, ``SCAN``, ``unsubscribe``, ``CLICK``, ``VIEW``,
``TEMPLATESENDJOBFINISH``, ...) and text or media messages are ``message``.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from siyu.ingest.exceptions import RecordRejected, RequestRejected
from siyu.ingest.model import EventRecord
from siyu.ingest.normalize import clean_id, event_time
from siyu.ingest.sources import Source

MAX_BODY_BYTES: Final = 64 * 1024
_ENVELOPE: Final = frozenset({"ToUserName", "FromUserName", "CreateTime", "MsgType", "Event"})


def verify(source: Source, signature: str, timestamp: str, nonce: str) -> None:
    """Raise `RequestRejected` unless the query signature matches the source's token."""
    if not source.wechat_token:
        raise RequestRejected(
            "unauthorized",
            f"source {source.source_id!r} has no WeChat token; add one with "
            "`siyu sources add ... --wechat-token`",
        )
    try:
        check_signature(source.wechat_token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise RequestRejected("unauthorized", "the WeChat signature does not match") from None


def decrypt(source: Source, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> bytes:
    """The plaintext XML of a safe-mode (``encrypt_type=aes``) callback."""
    if not source.wechat_aes_key:
        raise RequestRejected(
            "unauthorized",
            f"source {source.source_id!r} has no EncodingAESKey; add --wechat-aes-key",
        )
    crypto = WeChatCrypto(source.wechat_token, source.wechat_aes_key, source.app_id)
    try:
        plain: str | bytes = crypto.decrypt_message(body, msg_signature, timestamp, nonce)
    except InvalidSignatureException:
        raise RequestRejected("unauthorized", "the msg_signature does not match") from None
    except Exception as exc:
        raise RequestRejected("malformed", f"cannot decrypt the callback: {exc}") from None
    return plain.encode() if isinstance(plain, str) else plain


def parse(xml: bytes, source: Source, received_at: int) -> EventRecord:
    """One callback as a record; `RecordRejected` when the XML is not a WeChat message."""
    try:
        message = parse_message(xml)
        raw: dict[str, Any] = dict(message._data)
    except Exception as exc:
        raise RecordRejected(f"the body is not a WeChat XML message: {exc}") from None
    openid = clean_id(raw.get("FromUserName"), "FromUserName", required=True)
    try:
        created = int(raw.get("CreateTime") or 0) * 1_000_000
    except (TypeError, ValueError):
        raise RecordRejected(f"CreateTime {raw.get('CreateTime')!r} is not a number") from None
    msg_type = str(raw.get("MsgType") or "").lower()
    properties = {k: v for k, v in raw.items() if k not in _ENVELOPE and v is not None}
    if msg_type == "event":
        name = str(raw.get("Event") or "")
        if not name:
            raise RecordRejected("an event callback has no Event field")
        if message.event == "subscribe_scan":
            name = "subscribe"
            properties["event_key"] = "qrscene_" + str(raw.get("EventKey", ""))
            properties["scene"] = str(raw.get("EventKey", ""))
        elif message.event == "scan":
            properties["scene"] = str(raw.get("EventKey", ""))
        key = f"wx:{source.app_id}:{openid}:{raw.get('CreateTime')}:{name}"
    else:
        name = "message"
        properties["msg_type"] = msg_type
        key = f"wx:{source.app_id}:msg:{raw.get('MsgId') or raw.get('CreateTime')}:{openid}"
    when = event_time(created or None, None, received_at)
    return EventRecord(
        event_id=key,
        type="track",
        event=name,
        event_time=when,
        received_at=received_at,
        source_id=source.source_id,
        protocol="wechat",
        carrier=source.carrier,
        client_time=created or None,
        identities={"oa_openid": openid} if openid else {},
        app_id=source.app_id,
        library="wechat-server",
        method="server",
        properties=orjson.dumps(properties).decode(),
        context=orjson.dumps({"to_user": raw.get("ToUserName")}).decode(),
    )
