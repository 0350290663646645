"""Official-account callbacks over a real socket, signed and encrypted with wechatpy."""

from __future__ import annotations

import time

import httpx
import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from siyu.ingest.sources import Source
from tests.conftest import LiveServer

TOKEN = "siyuToken2026"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx1234567890abcdef"


@pytest.fixture
def oa(live_server: LiveServer) -> Source:
    return live_server.runtime.sources.add(
        "oa-main", carrier="oa", app_id=APP_ID, wechat_token=TOKEN, wechat_aes_key=AES_KEY
    )


def _signed(timestamp: str, nonce: str) -> dict[str, str]:
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}


def _xml(openid: str, created: int, body: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_main]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime>{body}</xml>"
    )


def test_handshake_echoes_only_with_a_valid_signature(live_server: LiveServer, oa: Source) -> None:
    url = f"{live_server.url}/wechat/{oa.source_id}"
    good = httpx.get(url, params={**_signed("1700000000", "n1"), "echostr": "hello123"})
    assert (good.status_code, good.text) == (200, "hello123")
    bad = httpx.get(
        url, params={"signature": "0" * 40, "timestamp": "1", "nonce": "n", "echostr": "x"}
    )
    assert bad.status_code == 401


def test_qr_follow_in_plaintext_mode_is_stored_once_despite_retries(
    live_server: LiveServer, oa: Source
) -> None:
    created = int(time.time()) - 2
    xml = _xml(
        "oOpenid001",
        created,
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
        "<EventKey><![CDATA[qrscene_poster:M1001]]></EventKey><Ticket><![CDATA[TK]]></Ticket>",
    )
    url = f"{live_server.url}/wechat/{oa.source_id}"
    for _ in range(3):  # WeChat's three tries
        answer = httpx.post(url, params=_signed(str(created), "n2"), content=xml.encode())
        assert (answer.status_code, answer.text) == (200, "success")
    rows = live_server.query(
        "SELECT event, identities['oa_openid'], json_extract_string(properties, '$.scene'),"
        " protocol, carrier, app_id FROM events"
    )
    assert rows == [("subscribe", "oOpenid001", "poster:M1001", "wechat", "oa", APP_ID)]


def test_safe_mode_scan_and_text_message(live_server: LiveServer, oa: Source) -> None:
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    created = int(time.time())
    url = f"{live_server.url}/wechat/{oa.source_id}"
    for nonce, body in [
        (
            "n3",
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event>"
            "<EventKey><![CDATA[store_sh]]></EventKey><Ticket><![CDATA[T2]]></Ticket>",
        ),
        (
            "n4",
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[绘本]]></Content>"
            "<MsgId>1234567890123456</MsgId>",
        ),
    ]:
        encrypted = crypto.encrypt_message(_xml("oOpenid002", created, body), nonce, str(created))
        msg_signature = xmltodict.parse(encrypted)["xml"]["MsgSignature"]
        params = {
            **_signed(str(created), nonce),
            "encrypt_type": "aes",
            "msg_signature": msg_signature,
        }
        answer = httpx.post(url, params=params, content=encrypted.encode())
        assert (answer.status_code, answer.text) == (200, "success")
    rows = live_server.query(
        "SELECT event, json_extract_string(properties, '$.scene'),"
        " json_extract_string(properties, '$.Content') FROM events ORDER BY event"
    )
    assert rows == [("SCAN", "store_sh", None), ("message", None, "绘本")]


def test_bad_signature_and_garbage_body(live_server: LiveServer, oa: Source) -> None:
    url = f"{live_server.url}/wechat/{oa.source_id}"
    forged = httpx.post(
        url, params={"signature": "f" * 40, "timestamp": "1", "nonce": "x"}, content=b"<xml/>"
    )
    assert forged.status_code == 401
    garbage = httpx.post(url, params=_signed("1700000001", "n5"), content=b"not xml at all")
    assert (garbage.status_code, garbage.text) == (200, "success")
    reasons = live_server.query("SELECT protocol, reason FROM quarantine")
    assert len(reasons) == 1 and reasons[0][0] == "wechat"
    assert "not a WeChat XML message" in str(reasons[0][1])
    unknown = httpx.get(f"{live_server.url}/wechat/nope", params=_signed("1", "n"))
    assert unknown.status_code == 401
