"""Console words and number formats: Chinese first (zh-CN), English available.

`Texts` is the table of labels; `Formats` writes numbers, money, shares and dates the
way an operator in that language reads them (zh-CN: 1.2万, ¥3,456.00, 6月14日).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

LANGUAGES: Final = ("zh-CN", "en")

_TEXTS: Final[dict[str, tuple[str, str]]] = {
    "app": ("私域运营后台", "siyu console"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出登录", "Sign out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "sign_in_hint": (
        "首次使用?运行 make demo 或 siyu init,终端会显示管理员密码。",
        "First time? `make demo` or `siyu init` prints the admin password once.",
    ),
    "no_access": ("没有权限", "Not allowed"),
    "no_access_text": (
        "此页面需要 {role} 角色,您当前的角色是 {current}。请联系管理员。",
        "This page needs the {role} role; you are {current}. Ask an admin.",
    ),
    "overview": ("数据概览", "Overview"),
    "persons": ("用户", "Persons"),
    "segments": ("分群", "Segments"),
    "layers": ("分层", "Layers"),
    "funnels": ("漏斗", "Funnels"),
    "retention": ("留存", "Retention"),
    "referral": ("裂变", "Referral"),
    "experiments": ("实验", "Experiments"),
    "churn": ("流失预警 / 生命周期价值", "Churn and lifetime value"),
    "sources": ("数据接入", "Data sources"),
    "users": ("账号管理", "Users"),
    "language": ("English", "中文"),
    "range": ("时间范围", "Range"),
    "last_days": ("近{n}天", "Last {n} days"),
    "vs_previous": ("较上一周期", "vs previous period"),
    "new_users": ("新增用户", "New users"),
    "dau": ("日活 DAU", "DAU"),
    "wau": ("周活 WAU", "WAU"),
    "mau": ("月活 MAU", "MAU"),
    "next_day_retention": ("次日留存", "Next-day retention"),
    "day7_retention": ("7日留存", "Day-7 retention"),
    "paying_users": ("付费用户", "Paying users"),
    "gmv_fen": ("GMV(净额)", "GMV (net)"),
    "active_trend": ("活跃趋势", "Active persons"),
    "new_trend": ("新增与付费", "New and paying"),
    "retention_trend": ("新用户留存", "New-user retention"),
    "gmv_trend": ("GMV 趋势", "GMV"),
    "by_carrier": ("按载体", "By carrier"),
    "by_channel": ("按渠道(首次触达)", "By first-touch channel"),
    "carrier": ("载体", "Carrier"),
    "channel": ("渠道", "Channel"),
    "avg_dau": ("日均活跃", "Average DAU"),
    "paying": ("付费", "Paying"),
    "gmv": ("GMV", "GMV"),
    "no_data": ("还没有数据", "No data yet"),
    "no_data_text": (
        "还没有收到事件。可以运行 make demo 生成演示数据,或在「数据接入」页创建写入密钥,"
        "用 Segment / 神策 / PostHog SDK 发送事件。",
        "No events yet. Run `make demo` for demo data, or create a write key under Data "
        "sources and send events with a Segment, Sensors Data or PostHog SDK.",
    ),
    "loading": ("加载中…", "Loading…"),
    "error": ("出错了", "Something went wrong"),
    "search_person": ("按任意标识查找用户", "Find a person by any identifier"),
    "search_hint": (
        "手机号、openid、unionid、会员号… 例如 phone:13800138000 或 member_id:M1001",
        "phone, openid, unionid, member id… e.g. phone:13800138000 or member_id:M1001",
    ),
    "search": ("查找", "Find"),
    "profile": ("用户画像", "Profile"),
    "identities": ("身份标识", "Identities"),
    "timeline": ("行为时间线", "Timeline"),
    "sets": ("标签与分层", "Tags and layers"),
    "not_found": ("没有找到", "Not found"),
    "write_keys": ("写入密钥", "Write keys"),
    "collector": ("采集状态", "Collector"),
    "events_per_minute": ("每分钟事件数", "Events per minute"),
    "quarantine": ("隔离区(被拒记录)", "Quarantine (rejected records)"),
    "imports": ("导入记录", "Imports"),
    "identity_resolution": ("身份识别", "Identity resolution"),
    "resolver_off": (
        "本进程未运行身份识别(SIYU_IDENTITY_RESOLVE_INTERVAL=0):新数据在执行 siyu persons"
        " 或 siyu identity 命令时才合并;把该值设为 1 即可自动合并。",
        "Not running in this process (SIYU_IDENTITY_RESOLVE_INTERVAL=0): new records are "
        "resolved only when a `siyu persons` or `siyu identity` command runs; set it to 1 "
        "to resolve them as they arrive.",
    ),
    "resolver_starting": ("启动中…", "Starting…"),
    "resolver_ready": (
        "运行中:约每 {wait} 秒合并一次新数据,待处理 {pending} 条",
        "Running: new records resolved about every {wait} s, {pending} pending",
    ),
    "resolver_budget": (
        "流量平稳时为节省 CPU 攒批合并:下次合并等其余服务再用掉一定 CPU,最多等 {max_wait} 秒",
        "Saving CPU under steady traffic: the next apply waits until the rest of the server "
        "has done enough work, at most {max_wait} s",
    ),
    "resolver_failing": (
        "身份识别出错,新用户暂不合并:{error}",
        "Identity resolution is failing; new persons wait until it is fixed: {error}",
    ),
    "reason": ("原因", "Reason"),
    "count": ("数量", "Count"),
    "events_total": ("事件总数", "Events"),
    "persons_total": ("用户数", "Persons"),
    "orders_total": ("订单数", "Orders"),
    "last_received": ("最近接收", "Last received"),
    "segment_list": ("分群列表", "Segments"),
    "segment_builder": ("新建分群", "Build a segment"),
    "segment_overlap": ("分群重合", "Overlap"),
    "segment_name": ("名称", "Name"),
    "size": ("人数", "Size"),
    "entered": ("新进入", "Entered"),
    "exited": ("已退出", "Exited"),
    "computed_at": ("计算时间", "Computed"),
    "size_trend": ("人数趋势", "Size over time"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "estimate_pending": ("修改条件后自动估算人数", "The size is estimated as you edit"),
    "estimating": ("正在估算…", "Estimating…"),
    "estimate_result": (
        "预计人数 {size}(占全部用户 {share})",
        "Estimated size {size} ({share} of persons)",
    ),
    "unfinished": ("条件未填写完整", "Unfinished"),
    "match_all": ("满足全部", "All of"),
    "match_any": ("满足任一", "Any of"),
    "negate": ("取反", "Not"),
    "add_condition": ("添加条件", "Add condition"),
    "add_group": ("添加条件组", "Add group"),
    "kind_event": ("做过", "Did"),
    "kind_no_event": ("没做过", "Did not"),
    "kind_last_event": ("最近一次做过", "Last did"),
    "kind_property": ("用户属性", "Property"),
    "kind_spend": ("累计消费", "Spent"),
    "kind_layer": ("用户分层", "Layer"),
    "event": ("事件", "Event"),
    "more_than_days_ago": ("超过 N 天前", "More than N days ago"),
    "in_last_days": ("近 N 天", "In the last N days"),
    "at_least_times": ("至少次数", "At least times"),
    "where_property": ("事件属性", "Event property"),
    "property": ("属性名", "Property"),
    "value": ("值", "Value"),
    "at_least_yuan": ("至少(元)", "At least (yuan)"),
    "bad_key": (
        "key 只能用小写字母、数字、- 和 _,例如 cart-no-order",
        "key: lower-case letters, digits, - and _, e.g. cart-no-order",
    ),
    "saved": ("已保存 {key},下次计算后生效", "Saved {key}; computed in the next run"),
    "save": ("保存分群", "Save segment"),
    "choose_segments": ("选择要比较的分群(2 个以上)", "Segments to compare (2 or more)"),
    "lifecycle_distribution": ("生命周期分布", "Lifecycle stages"),
    "lifecycle_flow": ("生命周期流转(按周)", "Lifecycle flow (weekly)"),
    "stage_transitions": ("阶段流转", "Stage transitions"),
    "stage_new": ("新用户", "New"),
    "stage_active": ("活跃", "Active"),
    "stage_silent": ("沉默", "Silent"),
    "stage_churned": ("流失", "Churned"),
    "stage_returning": ("回流", "Returning"),
    "status_new": ("新增", "New"),
    "status_returning": ("持续活跃", "Returning"),
    "status_resurrecting": ("回流", "Resurrecting"),
    "status_dormant": ("沉睡", "Dormant"),
    "rfm_matrix": ("RFM 八类用户(近{days}天营收)", "RFM classes (revenue, last {days} days)"),
    "rfm_important_value": ("重要价值", "Important value"),
    "rfm_important_develop": ("重要发展", "Important develop"),
    "rfm_important_retain": ("重要保持", "Important retain"),
    "rfm_important_recall": ("重要挽留", "Important recall"),
    "rfm_general_value": ("一般价值", "General value"),
    "rfm_general_develop": ("一般发展", "General develop"),
    "rfm_general_retain": ("一般保持", "General retain"),
    "rfm_general_recall": ("一般挽留", "General recall"),
    "value_tiers": ("价值分层", "Value tiers"),
    "tier_loyal": ("忠诚", "Loyal"),
    "tier_high_quality": ("优质", "High quality"),
    "tier_ordinary": ("普通", "Ordinary"),
    "tier_low_frequency": ("低频", "Low frequency"),
    "tier_churned": ("流失", "Churned"),
    "interests": ("兴趣标签 Top 12", "Top interest tags"),
    "cohort": ("同期群", "Cohort"),
    "cohort_first_seen": ("首次出现", "First seen"),
    "cohort_first": ("首次做起始事件", "First start event"),
    "cohort_any": ("每次做起始事件", "Any start event"),
    "start_event": ("起始事件", "Start event"),
    "return_event": ("回访事件(默认任意)", "Return event (any)"),
    "period": ("周期", "Period"),
    "period_day": ("按天", "Day"),
    "period_week": ("按周", "Week"),
    "period_month": ("按月", "Month"),
    "periods": ("周期数", "Periods"),
    "breakdown": ("拆分", "Breakdown"),
    "no_breakdown": ("不拆分", "None"),
    "by_lifecycle": ("按生命周期", "By lifecycle"),
    "by_rfm": ("按 RFM", "By RFM"),
    "by_value_tier": ("按价值分层", "By value tier"),
    "run": ("查询", "Run"),
    "cohort_heatmap": ("留存热力图", "Cohort heat map"),
    "heatmap_caption": (
        "{period} · {periods} 期 · {cohorts} 个同期群 · 共 {persons} 人",
        "{period} · {periods} periods · {cohorts} cohorts · {persons} persons",
    ),
    "average": ("平均", "Average"),
    "retention_curve": ("留存曲线", "Retention curve"),
    "contribution": (
        "各渠道贡献的留存用户(第 {period} 期)= 用户数 × 留存率",
        "Retained users by value (period {period}) = users x retention rate",
    ),
    "funnel_steps": ("漏斗步骤(按顺序选择事件)", "Steps (events, in order)"),
    "window": ("转化窗口", "Window"),
    "mode": ("模式", "Mode"),
    "mode_ordered": ("有序(可穿插)", "Ordered"),
    "mode_strict": ("严格有序", "Strict"),
    "mode_any_order": ("任意顺序", "Any order"),
    "funnel_summary": (
        "进入 {entered} 人,完成 {converted} 人,总转化率 {rate},平均每步流失 {loss}",
        "{entered} entered, {converted} converted ({rate}); {loss} lost per step on average",
    ),
    "funnel_step": ("步骤", "Step"),
    "funnel_count": ("人数", "Persons"),
    "funnel_conversion": ("总转化率", "Conversion"),
    "funnel_from_previous": ("较上一步", "From previous"),
    "funnel_drop_off": ("流失", "Drop-off"),
    "funnel_median": ("转化时长中位数", "Median time"),
    "funnel_by": ("按 {by} 拆分的转化率(%)", "Conversion by {by} (%)"),
    "funnel_trend": ("转化率趋势(按进入日)", "Conversion by day entered"),
    "no_experiments": (
        "还没有实验。用 siyu experiment save 定义一个,start 后在服务端分配流量。",
        "No experiments yet: define one with `siyu experiment save`, then start it.",
    ),
    "exp_key": ("实验", "Experiment"),
    "exp_name": ("名称", "Name"),
    "exp_status": ("状态", "Status"),
    "exp_variants": ("分组", "Variants"),
    "exp_variant": ("分组", "Variant"),
    "exp_persons": ("曝光人数", "Exposed"),
    "exp_value": ("指标值", "Value"),
    "exp_lift": ("相对提升 (置信区间)", "Relative lift (CI)"),
    "exp_p_value": ("p 值 (Holm)", "p (Holm)"),
    "exp_p_beat": ("胜出概率", "P(beat control)"),
    "exposure": ("曝光 {persons} 人,分组占比", "{persons} exposed; split"),
    "actual_share": ("实际占比 %", "Actual %"),
    "expected_share": ("设定占比 %", "Expected %"),
    "srm_warning": (
        "样本比例失衡 (SRM, p={p}):分流或曝光记录有问题,结论不可信",
        "Sample ratio mismatch (p={p}): assignment or logging is broken; do not trust results",
    ),
    "refit": ("重新拟合并评分", "Refit and rescore"),
    "scored": ("已评分用户", "Scored persons"),
    "at_risk": ("流失风险高 (P(存活)<0.3)", "At risk (P(alive) < 0.3)"),
    "expected_purchases": ("预计购买次数", "Expected purchases"),
    "clv_total": ("预计生命周期价值", "Expected lifetime value"),
    "p_alive_distribution": ("P(存活) 分布", "P(alive)"),
    "clv_deciles": ("CLV 十分位", "CLV by decile"),
    "at_risk_list": ("最需要挽回的复购用户", "Repeat buyers most at risk"),
    "clv_person_id": ("用户", "Person"),
    "clv_p_alive": ("P(存活)", "P(alive)"),
    "clv_frequency": ("复购次数", "Repeat purchases"),
    "clv_spend_at_risk": ("风险金额", "Spend at risk"),
    "clv_clv": ("CLV", "CLV"),
    "col_value": ("值", "Value"),
    "col_users": ("用户数", "Users"),
    "col_rate": ("留存率", "Rate"),
    "col_retained": ("留存用户", "Retained"),
    "col_share_of_retained": ("占留存比例", "Share of retained"),
    # 裂变 Referral, 渠道归因 Attribution, 账号管理 Users
    "attribution": ("渠道归因", "Attribution"),
    "date_from": ("开始日期", "From"),
    "date_to": ("结束日期", "To"),
    "all_campaigns": ("全部活动", "All campaigns"),
    "rf_campaign": ("裂变活动(活动名 / 渠道码 / 场景前缀)", "Campaign, channel code or prefix"),
    "rf_max_depth": ("最大代数", "Max depth"),
    "rf_new_only": ("只算新用户", "New users only"),
    "rf_new_only_tip": (
        "被邀请人须在邀请前 1 天内首次出现;老用户扫海报不算裂变带来的",
        "An invitee must be first seen at most a day before the invite: existing users "
        "scanning a poster were not brought by it",
    ),
    "rf_error_hint": (
        "请检查筛选条件:活动名需与邀请事件中的 campaign 或渠道码一致,上面列出了现有的活动。",
        "Check the filters: the campaign must match the invites' campaign or channel code; "
        "the message lists the ones seen.",
    ),
    "rf_empty": ("这个范围内还没有裂变", "No referrals in this scope"),
    "rf_empty_text": (
        "邀请关系来自被邀请人的事件:带 inviter / referrer 属性的邀请事件、分享卡片的 "
        "$share_distinct_id,或扫描场景值以 poster: 开头的个人海报二维码。"
        "换一个活动或时间范围,或先发起一次裂变活动。",
        "Invites come from the invitee's events: an invite event with an inviter or referrer "
        "property, a shared card's $share_distinct_id, or a scan of a personal poster whose "
        "scene starts with poster:. Try another campaign or range, or launch a campaign.",
    ),
    "rf_refused": ("未计入的邀请:{refused}", "Invites not counted: {refused}"),
    "rf_refused_unresolved": ("邀请人无法识别", "inviter unknown"),
    "rf_refused_self": ("自己邀请自己", "self-invites"),
    "rf_refused_not_new": ("被邀请人是老用户", "invitee not new"),
    "rf_refused_later": ("已被他人先邀请", "already invited"),
    "rf_refused_cycle": ("循环邀请", "cycles"),
    "rf_refused_too_deep": ("超过最大代数", "too deep"),
    "rf_invitees": ("裂变新增用户", "Invitees"),
    "rf_seeds": ("种子用户 {n} 人", "{n} seed inviters"),
    "rf_k_factor": ("K 因子", "K-factor"),
    "rf_viral": ("K ≥ 1:可以自发传播", "K ≥ 1: it spreads by itself"),
    "rf_not_viral": ("K < 1:需持续投入种子用户", "K < 1: it needs fresh seeds"),
    "rf_depth": ("传播代数", "Generations"),
    "rf_amplification": ("放大倍数 {x:.1f}", "Amplification {x:.1f}x"),
    "rf_paying_share": ("被邀请人付费占比", "Paying invitees"),
    "rf_paying_revenue": ("被邀请人贡献 {money}", "Invitees' revenue {money}"),
    "rf_cost_per_invitee": ("单个获客成本", "Cost per invitee"),
    "rf_roi": ("ROI {roi}", "ROI {roi}"),
    "rf_no_cost": (
        "在「渠道归因」页录入该活动的成本后显示",
        "Enter the campaign's cost on the Attribution page",
    ),
    "rf_generations": ("每一代的人数与 K 因子", "Persons and K-factor per generation"),
    "rf_generation_n": ("第 {g} 代", "Gen {g}"),
    "rf_hours": ("代际间隔(邀请人到被邀请人,中位数)", "Time between generations (median)"),
    "rf_days": ("天", "Days"),
    "rf_distribution": ("每人邀请人数分布", "Invitees per person"),
    "rf_distribution_tip": (
        "多数人只邀请 1-3 人:邀请门槛要低(要求邀请 15 人是典型的失败)",
        "Most people invite 1 to 3: keep thresholds low (asking for 15 is the classic failure)",
    ),
    "rf_top_inviters": ("核心邀请人 KOC", "Top inviters (KOC)"),
    "rf_member_id": ("会员号 / 用户", "Member / person"),
    "rf_generation": ("代", "Gen"),
    "rf_direct_invitees": ("直接邀请", "Direct"),
    "rf_descendants": ("带来总人数", "All below"),
    "rf_depth_below": ("下游代数", "Depth below"),
    "rf_paying_invitees": ("直接邀请中付费", "Paying direct"),
    "rf_descendants_revenue": ("下游贡献", "Revenue below"),
    "rf_own_revenue": ("本人消费", "Own revenue"),
    "rf_pick_root": ("点击一行,只看此人的裂变树", "Click a row to see that inviter's tree"),
    "rf_tree": ("裂变树", "Referral trees"),
    "rf_all_trees": ("查看全部", "All trees"),
    "rf_tree_shown": (
        "显示 {shown} / {total} 人;绿色为已付费,节点越大带来的人越多,可拖动和缩放",
        "{shown} of {total} persons; green paid, larger nodes brought more; drag and zoom",
    ),
    "rf_tree_truncated": (
        "(为保持可读最多显示 {cap} 人,从最大的树开始;点击 KOC 表中的一行可单独查看)",
        "(at most {cap} shown, largest trees first; click a KOC row to see one tree)",
    ),
    "rf_node_tip": (
        "{name}<br/>第 {g} 代 · 直接邀请 {invitees} · 带来 {descendants} 人<br/>消费 {revenue}",
        "{name}<br/>gen {g} · {invitees} direct · {descendants} below<br/>spent {revenue}",
    ),
    "at_conversion": ("转化", "Conversion"),
    "at_orders": ("订单(已支付)", "Orders (paid)"),
    "at_touch": ("触点维度", "Touch"),
    "at_touch_channel": ("渠道码", "Channel"),
    "at_touch_campaign": ("活动", "Campaign"),
    "at_touch_scene": ("小程序场景值", "Launch scene"),
    "at_touch_content": ("内容", "Content"),
    "at_models": ("归因模型(可多选对比)", "Models (compare several)"),
    "at_model_first": ("首次触点", "First touch"),
    "at_model_last": ("末次触点", "Last touch"),
    "at_model_linear": ("线性", "Linear"),
    "at_model_time_decay": ("时间衰减", "Time decay"),
    "at_model_position": ("位置(U 型)", "Position (U)"),
    "at_lookback": ("回溯窗口", "Lookback"),
    "at_lookback_n": ("{w}", "{w}"),
    "at_empty": ("这段时间没有转化", "No conversions in this range"),
    "at_empty_text": (
        "换一个时间范围或转化事件;订单来自订单导入或 order_paid 事件,"
        "可在「数据接入」页查看导入记录。",
        "Try another range or conversion; orders come from order imports or order_paid "
        "events (see Data sources for imports).",
    ),
    "at_conversions": ("转化数", "Conversions"),
    "at_revenue": ("转化金额", "Revenue"),
    "at_first_conversions": ("新客(首次转化)", "New customers"),
    "at_direct_share": ("无触点(直接)占比", "Direct (no touch)"),
    "at_cost": ("营销成本", "Marketing cost"),
    "at_roi": ("整体 ROI(对已录入成本)", "ROI (on costs entered)"),
    "at_no_costs": (
        "还没有录入这段时间的营销成本:在下方「营销成本」录入后可看到获客成本 CAC 和 ROI。",
        "No marketing costs for this range yet: enter them under Marketing costs below to "
        "see CAC and ROI.",
    ),
    "at_conversions_by": ("各渠道归因转化数(按模型对比)", "Attributed conversions by model"),
    "at_revenue_by": ("各渠道归因金额(元,按模型对比)", "Attributed revenue (yuan) by model"),
    "at_referral_codes": ("裂变海报码 {prefix}", "Referral posters {prefix}"),
    "at_direct_note": (
        "另有 {n} 次转化在回溯窗口内没有任何触点,计为「直接」(direct)。",
        "{n} more conversions had no touch in the lookback: counted as (direct).",
    ),
    "at_table": ("成本与回报", "Cost and return"),
    "at_col_value": ("取值", "Value"),
    "at_col_label": ("名称", "Name"),
    "at_col_touched": ("触达转化", "Touched"),
    "at_col_conversions": ("归因转化", "Conversions"),
    "at_col_first_conversions": ("新客", "New customers"),
    "at_col_revenue": ("归因金额", "Revenue"),
    "at_col_cost": ("成本", "Cost"),
    "at_col_cost_per_conversion": ("单次转化成本", "Cost / conversion"),
    "at_col_cac": ("获客成本 CAC", "CAC"),
    "at_col_roi": ("ROI", "ROI"),
    "at_costs": ("营销成本", "Marketing costs"),
    "at_costs_help": (
        "按渠道码或活动录入某段时间的花费;分析时按天平摊到所选时间范围。录入后不可修改,删除后重新录入。",
        "What a channel code or campaign cost over some days; spread evenly over its days. "
        "Entries are never edited: remove and add again.",
    ),
    "at_costs_read_only": (
        "分析角色只能查看成本;录入和删除需要运营或管理员角色。",
        "Analysts read costs; entering and removing them needs the operator role.",
    ),
    "at_costs_none": ("还没有录入成本", "No costs entered yet"),
    "at_costs_total": ("合计 {money}", "Total {money}"),
    "at_cost_dimension": ("类型", "Kind"),
    "at_cost_key": ("渠道码 / 活动名", "Channel code or campaign"),
    "at_cost_yuan": ("金额(元)", "Amount (yuan)"),
    "at_cost_note": ("备注", "Note"),
    "at_cost_add": ("录入成本", "Add cost"),
    "at_cost_remove": ("删除", "Remove"),
    "at_cost_added": ("已录入 {key} {money}", "Added {key}: {money}"),
    "at_cost_removed": ("已删除", "Removed"),
    "at_cost_incomplete": ("请填写渠道码或活动名,以及金额", "Give the key and the amount"),
    "at_not_allowed": ("录入成本需要运营角色", "Entering costs needs the operator role"),
    "at_cost_col_dimension": ("类型", "Kind"),
    "at_cost_col_key": ("渠道码 / 活动", "Key"),
    "at_cost_col_span": ("覆盖日期", "Days"),
    "at_cost_col_amount": ("金额", "Amount"),
    "at_cost_col_note": ("备注", "Note"),
    "at_cost_col_entered": ("录入人 · 时间(UTC)", "Entered by · at (UTC)"),
    "role_admin": ("管理员", "Admin"),
    "role_operator": ("运营", "Operator"),
    "role_analyst": ("分析", "Analyst"),
    "role_admin_help": (
        "管理员:全部权限,含账号、写入密钥、明文手机号",
        "Admin: everything, users, write keys, unmasked phones",
    ),
    "role_operator_help": (
        "运营:可修改分群、标签、实验、营销成本",
        "Operator: changes segments, tags, experiments, costs",
    ),
    "role_analyst_help": ("分析:只读", "Analyst: reads only"),
    "us_intro": (
        "只有管理员能看到此页。密码只保存 argon2 哈希;修改角色、重置密码或停用会让该账号重新登录。",
        "Admins only. Passwords are kept only as argon2 hashes; a role change, password reset "
        "or disabling signs the user out.",
    ),
    "us_summary": (
        "共 {n} 个账号 · 管理员 {admin} · 运营 {operator} · 分析 {analyst}",
        "{n} users · {admin} admin · {operator} operator · {analyst} analyst",
    ),
    "us_col_username": ("用户名", "User name"),
    "us_col_display_name": ("显示名称", "Display name"),
    "us_col_role": ("角色", "Role"),
    "us_col_state": ("状态", "State"),
    "us_col_last_login": ("最近登录", "Last sign-in"),
    "us_col_created": ("创建时间", "Created"),
    "us_col_actions": ("操作", "Actions"),
    "us_state_active": ("正常", "Active"),
    "us_state_disabled": ("已停用", "Disabled"),
    "us_locked_until": ("已锁定至 {at}", "Locked until {at}"),
    "us_never": ("从未登录", "Never"),
    "us_action_role": ("改角色", "Role"),
    "us_action_password": ("重置密码", "Reset password"),
    "us_action_unlock": ("解锁", "Unlock"),
    "us_action_disable": ("停用", "Disable"),
    "us_action_enable": ("启用", "Enable"),
    "us_add": ("新增账号", "Add a user"),
    "us_display_name": ("显示名称(可选)", "Display name (optional)"),
    "us_role": ("角色", "Role"),
    "us_language": ("语言", "Language"),
    "us_generate": ("自动生成强密码", "Generate a strong password"),
    "us_set_password": ("由我设置(至少 10 位)", "Set one (10+ characters)"),
    "us_add_button": ("添加", "Add"),
    "us_added": ("已添加 {user}", "Added {user}"),
    "us_password_title": ("{user} 的密码", "Password of {user}"),
    "us_password_once": (
        "只显示这一次,关闭后无法再查看,请立即转交给本人。",
        "Shown this once: hand it over now, it cannot be shown again.",
    ),
    "us_copy": ("复制", "Copy"),
    "us_done": ("我已保存", "Done"),
    "us_role_title": ("修改 {user} 的角色", "Role of {user}"),
    "us_role_note": ("修改后该账号需要重新登录。", "The user will have to sign in again."),
    "us_role_done": ("{user} 现在是{role}", "{user} is now {role}"),
    "us_reset_title": ("重置 {user} 的密码", "Reset the password of {user}"),
    "us_reset_note": ("重置后该账号的登录会话全部失效。", "The user's sessions end."),
    "us_reset_button": ("重置", "Reset"),
    "us_reset_done": ("已重置 {user} 的密码", "Password of {user} reset"),
    "us_unlocked": ("已解锁 {user}", "{user} unlocked"),
    "us_disabled_done": ("已停用 {user}", "{user} disabled"),
    "us_enabled_done": ("已启用 {user}", "{user} enabled"),
    "us_save": ("保存", "Save"),
    "us_cancel": ("取消", "Cancel"),
    "us_not_admin": ("此操作需要管理员角色", "This needs the admin role"),
}


class Texts:
    """Labels in one language: ``texts("new_users")``, ``texts("last_days", n=7)``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "zh-CN"
        self._index = 0 if self.language == "zh-CN" else 1

    def __call__(self, text_key: str, /, **values: object) -> str:
        pair = _TEXTS.get(text_key)
        text = pair[self._index] if pair else text_key
        return text.format(**values) if values else text


@dataclass(frozen=True)
class Formats:
    """Numbers, money, shares and dates for one language."""

    language: str

    def number(self, value: float | None) -> str:
        """Example: ``Formats("zh-CN").number(123456)`` -> ``'12.3万'``."""
        if value is None:
            return "—"
        if self.language == "zh-CN":
            if abs(value) >= 1e8:
                return f"{value / 1e8:.2f}亿"
            if abs(value) >= 1e4:
                return f"{value / 1e4:.1f}万"
        elif abs(value) >= 1e6:
            return f"{value / 1e6:.2f}M"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"

    def money(self, fen: float | None) -> str:
        """Example: ``Formats("zh-CN").money(123456)`` -> ``'¥1,234.56'``."""
        if fen is None:
            return "—"
        yuan = fen / 100
        if self.language == "zh-CN" and abs(yuan) >= 1e4:
            return f"¥{yuan / 1e4:,.2f}万"
        return f"¥{yuan:,.2f}"

    def share(self, value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{value * 100:.{digits}f}%"

    def change(self, value: float | None) -> str:
        if value is None:
            return "—"
        arrow = "↑" if value > 0 else ("↓" if value < 0 else "→")
        return f"{arrow} {abs(value) * 100:.1f}%"

    def day(self, value: date | str) -> str:
        day = date.fromisoformat(value) if isinstance(value, str) else value
        if self.language == "zh-CN":
            return f"{day.month}月{day.day}日"
        return day.strftime("%b %-d")
