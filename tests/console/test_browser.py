"""The console in a real browser (Debian's chromium via Playwright) on a live `siyu serve`
with demo data: sign in, open every page, find a person by phone number, roles."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import PASSWORD, Console, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "console-overview.png"
#: Pages and a text each shows once its data is drawn.
PAGES = {
    "overview": ("/console/", "次日留存"),
    "persons": ("/console/persons", "按任意标识查找用户"),
    "segments": ("/console/segments", "分群列表"),
    "layers": ("/console/layers", "RFM 八类用户"),
    "funnels": ("/console/funnels", "总转化率"),
    "retention": ("/console/retention", "留存热力图"),
    "referral": ("/console/referral", "核心邀请人 KOC"),
    "attribution": ("/console/attribution", "成本与回报"),
    "sources": ("/console/sources", "写入密钥"),
}


def test_sign_in_and_open_every_page(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "admin", console.admin_password)
    for name, (path, text) in PAGES.items():
        page.goto(f"{console.url}{path}")
        page.get_by_text(text).first.wait_for()
        if name == "sources":  # whether new records become persons, and how soon
            page.get_by_text("身份识别").first.wait_for()
        if name == "overview":
            page.locator("canvas").first.wait_for()
            page.wait_for_timeout(1500)  # let the charts finish their animation
            shot = screenshot(page, name)
            if os.environ.get("SIYU_UPDATE_SCREENSHOTS"):
                DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, DOCS_SCREENSHOT)
        else:
            screenshot(page, name)
    # Every navigation entry leads to its page.
    page.goto(f"{console.url}/console/")
    page.get_by_text("数据接入").first.click()
    page.wait_for_url(f"{console.url}/console/sources")
    page.context.close()


def test_overview_shows_figures_and_switches_language(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "operator", PASSWORD)
    page.get_by_text("新增用户").first.wait_for()
    assert page.get_by_text("较上一周期").count() == 8
    page.get_by_text("近7天").click()
    page.get_by_text("次日留存").first.wait_for()
    page.get_by_role("button", name="English").click()
    page.get_by_text("Next-day retention").first.wait_for()
    page.get_by_role("button", name="中文").click()
    page.get_by_text("次日留存").first.wait_for()
    page.context.close()


def _a_phone(console: Console) -> str:
    lines = console.api("GET", "/identity/export", params={"format": "jsonl", "reveal": "true"})
    for line in lines.splitlines():
        row = json.loads(line)
        if row.get("identity_type") == "phone":
            return str(row["identity_value"])
    raise AssertionError("the demo has no phone numbers")


def test_find_a_person_by_phone_number(browser: Any, console: Console) -> None:
    phone = _a_phone(console)
    digits = phone.removeprefix("+86")
    # Operators see the number masked; admins see it whole.
    for username, password, shown in (
        ("operator", PASSWORD, f"{digits[:3]}****{digits[-4:]}"),
        ("admin", console.admin_password, phone),
    ):
        page = sign_in(browser, console, username, password)
        page.goto(f"{console.url}/console/persons")
        box = page.get_by_label("按任意标识查找用户")
        box.fill(digits)
        box.press("Enter")
        page.get_by_text("用户画像").wait_for()
        page.get_by_text("行为时间线").wait_for()
        assert page.get_by_text(shown).count() >= 1, shown
        screenshot(page, f"person-{username}")
        page.context.close()


def test_unknown_person_and_wrong_password_say_why(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "analyst", PASSWORD)
    page.goto(f"{console.url}/console/persons")
    box = page.get_by_label("按任意标识查找用户")
    box.fill("member_id:NOBODY-42")
    box.press("Enter")
    page.get_by_text("没有找到").wait_for()
    assert page.get_by_text("no person holds").count() == 1
    page.context.close()
    fresh = browser.new_context().new_page()
    fresh.goto(f"{console.url}/console/login")
    fresh.locator("input[name=username]").fill("analyst")
    fresh.locator("input[name=password]").fill("not the password")
    fresh.locator("button[type=submit]").click()
    fresh.get_by_text("wrong user name or password").wait_for()
    fresh.context.close()


def test_signed_out_visitors_are_sent_to_sign_in(browser: Any, console: Console) -> None:
    page = browser.new_context().new_page()
    for path, _ in PAGES.values():
        page.goto(f"{console.url}{path}")
        page.wait_for_url("**/console/login**")
    page.context.close()


def test_build_a_segment_and_see_its_size(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "operator", PASSWORD)
    page.goto(f"{console.url}/console/segments")
    page.get_by_role("tab", name="新建分群").click()
    estimate = page.get_by_text("预计人数")
    estimate.wait_for()
    first = estimate.inner_text()
    # Narrow the default row (viewed an item in the last 30 days) to the last 3 days.
    days = page.get_by_label("近 N 天").first
    days.fill("3")
    days.press("Tab")
    page.wait_for_function("t => !document.body.innerText.includes(t)", arg=first, timeout=60_000)
    page.get_by_text("预计人数").wait_for()
    # An empty nested group is named, not guessed at; removing it makes the rule whole.
    page.get_by_role("button", name="添加条件组").first.click()
    page.get_by_text("条件未填写完整").wait_for()
    page.locator("button", has=page.locator("i", has_text="delete")).click()
    page.get_by_text("预计人数").wait_for()
    page.get_by_label("key").fill("browser-made")
    page.get_by_label("名称").fill("浏览器建的分群")
    screenshot(page, "segment-builder")
    page.get_by_role("button", name="保存分群").click()
    page.get_by_text("已保存 browser-made").wait_for()
    saved = console.api("GET", "/segments/browser-made")
    assert saved["definition"]["rule"]["event"]["window"] == {"last_days": 3}
    page.context.close()


def test_analysts_see_segments_but_cannot_save(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "analyst", PASSWORD)
    page.goto(f"{console.url}/console/segments")
    page.get_by_role("tab", name="新建分群").click()
    page.get_by_text("预计人数").wait_for()
    assert page.get_by_role("button", name="保存分群").count() == 0
    page.context.close()


def test_read_the_retention_heatmap(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "analyst", PASSWORD)
    page.goto(f"{console.url}/console/retention")
    page.get_by_text("留存热力图").wait_for()
    page.get_by_text("各渠道贡献的留存用户").wait_for()
    # Day 0 of first-seen cohorts is everyone; the heat map draws on a canvas.
    assert page.locator("canvas").count() >= 2
    page.get_by_label("周期", exact=True).click()
    page.get_by_role("option", name="按周").click()
    page.get_by_role("button", name="查询").click()
    page.get_by_text("按周 · 14 期").wait_for()
    screenshot(page, "retention-weekly")
    page.context.close()


def test_build_a_funnel(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "analyst", PASSWORD)
    page.goto(f"{console.url}/console/funnels")
    summary = page.get_by_text("平均每步流失")
    summary.wait_for()
    seven_days = summary.inner_text()
    page.get_by_label("转化窗口").click()
    page.get_by_role("option", name="1 小时 / 1h").click()
    page.get_by_label("拆分").click()
    page.get_by_role("option", name="按载体").click()
    page.get_by_role("button", name="查询").click()
    page.get_by_text("按 carrier 拆分的转化率").wait_for()
    one_hour = page.get_by_text("平均每步流失").inner_text()
    # The page shows what the API answers for the same request.
    steps = ["view_item", "add_to_cart", "checkout", "order_paid"]
    expected = console.api(
        "POST", "/analytics/funnel", json={"steps": steps, "window": "1h", "by": "carrier"}
    )
    assert f"完成 {expected['converted']:,} 人" in one_hour
    assert seven_days.startswith("进入")
    assert page.get_by_text("较上一步").count() >= 1
    screenshot(page, "funnel")
    page.context.close()


def test_refit_churn_model_and_read_who_is_at_risk(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "operator", PASSWORD)
    page.goto(f"{console.url}/console/churn")
    page.get_by_role("button", name="重新拟合并评分").click()
    page.get_by_text("最需要挽回的复购用户").wait_for(timeout=180_000)
    page.get_by_text("已评分用户").wait_for()
    screenshot(page, "churn")
    page.context.close()
    analyst = sign_in(browser, console, "analyst", PASSWORD)
    analyst.goto(f"{console.url}/console/churn")
    analyst.get_by_text("最需要挽回的复购用户").wait_for()
    assert analyst.get_by_role("button", name="重新拟合并评分").count() == 0
    analyst.context.close()


def test_referral_shows_the_demo_campaign_and_one_inviters_tree(
    browser: Any, console: Console
) -> None:
    everyone = console.api("POST", "/analytics/referral", json={"top": 20})
    campaign = console.api("POST", "/analytics/referral", json={"campaign": "共读计划", "top": 20})
    page = sign_in(browser, console, "analyst", PASSWORD)
    page.goto(f"{console.url}/console/referral")
    invitees = page.locator(".q-card", has=page.get_by_text("裂变新增用户", exact=True))
    invitees.get_by_text(f"{everyone['summary']['invitees']:,}", exact=True).wait_for()
    k_factor = page.locator(".q-card", has=page.get_by_text("K 因子", exact=True))
    k_factor.get_by_text(f"{everyone['summary']['k_factor']:.2f}", exact=True).wait_for()
    assert everyone["summary"]["depth"] >= 2
    assert page.locator("canvas").count() >= 4  # generations, time, spread, tree
    page.get_by_label("裂变活动").click()
    page.get_by_role("option", name="共读计划").click()
    page.get_by_role("button", name="查询").click()
    invitees.get_by_text(f"{campaign['summary']['invitees']:,}", exact=True).wait_for()
    screenshot(page, "referral")
    # A row of the KOC table shows that inviter's tree alone.
    top = campaign["top_inviters"][0]
    page.get_by_role("cell", name=top["member_id"], exact=True).click()
    shown = top["descendants"] + 1
    page.get_by_text(f"显示 {shown:,} / {shown:,} 人").wait_for()
    page.context.close()


def test_attribution_per_channel_and_operator_costs(browser: Any, console: Console) -> None:
    expected = console.api(
        "POST", "/analytics/attribution", json={"models": ["first", "last", "linear"]}
    )
    best = expected["rows"][0]
    assert best["value"] != "(direct)" and best["models"]["first"]["conversions"] >= 1
    page = sign_in(browser, console, "operator", PASSWORD)
    page.goto(f"{console.url}/console/attribution")
    page.get_by_text("成本与回报").wait_for()
    kpi = page.locator(".q-card", has=page.get_by_text("转化数", exact=True))
    kpi.get_by_text(f"{expected['totals']['conversions']:,}", exact=True).wait_for()
    assert page.locator("canvas").count() >= 2
    page.get_by_text("还没有录入成本").wait_for()
    # Enter what the Moments ads cost; the table gets a CAC and a ROI for them.
    page.get_by_label("渠道码 / 活动名").click()
    page.get_by_role("option", name="ad_moments_mp · 朋友圈广告-小程序").click()
    page.get_by_label("金额(元)").fill("18000")
    page.get_by_role("button", name="录入成本").click()
    page.get_by_text("已录入 ad_moments_mp").wait_for()
    table = page.locator(".q-table__container", has_text="覆盖日期")
    table.get_by_text("ad_moments_mp").wait_for()
    row = page.locator(".q-table__container", has_text="获客成本 CAC").locator(
        "tr", has_text="朋友圈广告-小程序"
    )
    row.get_by_text("¥1.80万").wait_for()
    stored = console.api("POST", "/analytics/costs.list", json={})["costs"]
    assert [(c["key"], c["cost_fen"], c["entered_by"]) for c in stored] == [
        ("ad_moments_mp", 1_800_000, "operator")
    ]
    screenshot(page, "attribution")
    table.get_by_role("button", name="删除").click()
    page.get_by_text("还没有录入成本").wait_for()
    assert console.api("POST", "/analytics/costs.list", json={})["costs"] == []
    page.context.close()


def test_analysts_neither_see_users_nor_add_costs(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "analyst", PASSWORD)
    page.get_by_text("渠道归因").wait_for()  # in the navigation
    assert page.get_by_text("账号管理").count() == 0
    page.goto(f"{console.url}/console/attribution")
    page.get_by_text("分析角色只能查看成本").wait_for()
    assert page.get_by_role("button", name="录入成本").count() == 0
    page.goto(f"{console.url}/console/users")
    page.get_by_text("没有权限").wait_for()
    assert page.get_by_text("最近登录").count() == 0
    page.context.close()


def test_admin_adds_a_user_who_can_then_sign_in(browser: Any, console: Console) -> None:
    page = sign_in(browser, console, "admin", console.admin_password)
    page.get_by_text("账号管理").click()
    page.wait_for_url(f"{console.url}/console/users")
    table = page.locator(".q-table__container", has_text="最近登录")
    table.get_by_text("analyst", exact=True).first.wait_for()
    page.get_by_label("用户名").fill("xiao.wang")
    page.get_by_label("角色").click()
    page.get_by_role("option", name="分析").click()
    page.get_by_role("button", name="添加", exact=True).click()
    shown = page.locator(".font-mono")
    shown.wait_for()
    password = shown.inner_text().strip()
    assert len(password) == 16
    screenshot(page, "users")
    page.get_by_role("button", name="我已保存").click()
    row = table.locator("tr", has_text="xiao.wang")
    row.get_by_text("从未登录").wait_for()
    # The admin makes them an operator; the new user signs in with the shown password.
    row.get_by_role("button", name="改角色").click()
    page.get_by_text("可修改分群").click()
    page.get_by_role("button", name="保存", exact=True).click()
    page.get_by_text("xiao.wang 现在是运营").wait_for()
    page.context.close()
    newcomer = sign_in(browser, console, "xiao.wang", password)
    newcomer.get_by_text("xiao.wang · operator").wait_for()
    assert newcomer.get_by_text("账号管理").count() == 0
    newcomer.context.close()
