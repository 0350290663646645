"""The demo cast: an online bookshop (书店) running its private domain in WeChat.

Everything here is data: accounts, sources, channel codes, staff, groups, the book and
article catalogue and the latent user segments whose parameters drive behaviour. The
numbers follow the seed articles: mini-program new users retain 10-25% the next day,
app users about 30%, and every extra funnel step loses about 30% of users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Time zone of the shop; day boundaries and the daily rhythm are local to it.
TIMEZONE: Final = "Asia/Shanghai"

MAIN_OA_APP_ID: Final = "wx5e1d2c3b4a596870"
MATRIX_OA_APP_ID: Final = "wx7a8b9c0d1e2f3a4b"
MP_APP_ID: Final = "wx1f2e3d4c5b6a7988"
APP_ID: Final = "com.shuxiang.bookstore"
CORP_ID: Final = "ww3c4d5e6f7a8b9c0d"


@dataclass(frozen=True)
class DemoSource:
    """A source the demo's events and orders are recorded under."""

    source_id: str
    name: str
    carrier: str
    app_id: str | None


SOURCES: Final = (
    DemoSource("demo-oa", "书香阁 服务号", "oa", MAIN_OA_APP_ID),
    DemoSource("demo-oa-matrix", "书香阁童书馆 订阅号", "oa", MATRIX_OA_APP_ID),
    DemoSource("demo-wecom", "书香阁 企业微信", "wecom", CORP_ID),
    DemoSource("demo-mp", "书香阁 小程序商城", "mp", MP_APP_ID),
    DemoSource("demo-app", "书香阁 App", "app", APP_ID),
    DemoSource("demo-growth", "书香阁 裂变活动服务", "server", None),
    DemoSource("demo-orders", "书香阁 订单系统", "import", None),
)


@dataclass(frozen=True)
class Channel:
    """A channel code (渠道码) and how many new users it brings (``share``)."""

    code: str
    name: str
    kind: str
    campaign: str | None
    carrier: str
    cost_fen: int
    share: float
    first_carrier: str


#: Acquisition channels; ``share`` weights the non-referred newcomers.
CHANNELS: Final = (
    Channel("organic_mp", "小程序搜索与发现", "organic", None, "mp", 0, 0.20, "mp"),
    Channel("qr_store_sh", "上海旗舰店收银台二维码", "qr", "门店引流", "oa", 0, 0.07, "oa"),
    Channel("qr_package", "包裹卡二维码", "qr", "包裹卡", "oa", 120_000, 0.09, "oa"),
    Channel("qr_bookfair", "书展展位二维码", "qr", "书展季", "oa", 800_000, 0.04, "oa"),
    Channel("qr_live", "直播间关注二维码", "qr", "新书直播", "oa", 300_000, 0.04, "oa"),
    Channel("organic_oa", "公众号搜索关注", "organic", None, "oa", 0, 0.06, "oa"),
    Channel("wc_store_guide", "门店导购企微码", "wecom_way", "门店引流", "wecom", 0, 0.06, "wecom"),
    Channel(
        "wc_after_sale", "售后卡片加企微", "wecom_way", "包裹卡", "wecom", 60_000, 0.04, "wecom"
    ),
    Channel("ad_moments_mp", "朋友圈广告-小程序", "ad", "开学季投放", "mp", 6_000_000, 0.12, "mp"),
    Channel(
        "ad_douyin_app", "抖音信息流-App下载", "ad", "开学季投放", "app", 4_500_000, 0.06, "app"
    ),
    Channel("organic_app", "应用商店自然下载", "organic", None, "app", 0, 0.08, "app"),
)

#: The referral poster campaign; invitees' scene is ``poster:<inviter member id>``.
POSTER = Channel(
    "poster_reading", "共读计划邀请海报", "poster", "共读计划", "oa", 1_500_000, 0.0, "oa"
)
#: Channels that bring no newcomers of their own but appear in events.
EXTRA_CHANNELS: Final = (
    Channel("grp_kids_books", "童书妈妈群活码", "live_code", "童书社群", "wecom", 0, 0.0, "wecom"),
    Channel(
        "kw_matrix_kids", "关键词「童书」导流矩阵号", "keyword", "矩阵导流", "oa", 0, 0.0, "oa"
    ),
    Channel("qr_menu_scan", "菜单会员码", "qr", None, "oa", 0, 0.0, "oa"),
)
#: Share of newcomers who arrive through a friend's poster, and the reward threshold
#: (low on purpose: asking 15 invites for a PDF is the classic failure).
REFERRAL_SHARE: Final = 0.22
INVITE_THRESHOLD: Final = 3


@dataclass(frozen=True)
class Segment:
    """A latent user segment: it drives visit frequency, fading and spend."""

    name: str
    share: float
    day1_mp: float  # chance to come back to the mini-program the day after the first visit
    day1_app: float
    rate: float  # daily visit chance from day 2 on, before fading
    fade_days: float  # e-folding time of the visit chance
    views: float  # mean extra page views per session
    cart: float  # chance a session with a book view adds to the cart
    basket: float  # mean extra books per order
    registered: float
    app: float  # chance to also install the app
    wecom: float
    sharer: float


SEGMENTS: Final = (
    Segment("loyal", 0.06, 0.62, 0.66, 0.30, 1e9, 4.0, 0.42, 1.1, 0.98, 0.35, 0.40, 0.55),
    Segment("regular", 0.18, 0.33, 0.42, 0.13, 120.0, 3.2, 0.30, 0.6, 0.85, 0.15, 0.20, 0.25),
    Segment("casual", 0.41, 0.13, 0.22, 0.05, 25.0, 2.6, 0.20, 0.3, 0.55, 0.06, 0.08, 0.05),
    Segment("churner", 0.35, 0.07, 0.13, 0.10, 3.0, 2.0, 0.14, 0.2, 0.35, 0.03, 0.05, 0.02),
)

CHECKOUT_RATE: Final = 0.5
PAY_RATE: Final = 0.72
REFUND_RATE: Final = 0.04

#: Monday..Sunday activity factors: weekends read more.
WEEKDAY_FACTOR: Final = (0.93, 0.90, 0.94, 0.98, 1.06, 1.15, 1.04)
#: Relative session starts per local hour: lunch and evening peaks, quiet nights.
HOUR_WEIGHTS: Final = (
    0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.6, 1.6, 2.4, 2.2, 2.0, 2.6,
    4.0, 4.2, 2.6, 2.0, 2.0, 2.3, 2.8, 3.6, 4.8, 5.4, 4.6, 2.2,
)  # fmt: skip

STAFF: Final = (
    ("wangfang", "王芳"),
    ("liqiang", "李强"),
    ("zhaomin", "赵敏"),
    ("chenjing", "陈静"),
    ("liuyang", "刘洋"),
    ("sunli", "孙丽"),
)
GROUPS: Final = (
    ("wrOgQhDgAAc9yVvKqYl1", "童书妈妈共读群1群"),
    ("wrOgQhDgAAc9yVvKqYl2", "童书妈妈共读群2群"),
    ("wrOgQhDgAAk2pLmNsTx3", "科幻迷交流群"),
    ("wrOgQhDgAAr7HbWcZeQ4", "考研考公资料群"),
)
MENU_KEYS: Final = ("MENU_NEW_BOOKS", "MENU_MEMBER", "MENU_READING_CLUB", "MENU_SERVICE")
#: (code, name, discount fen, minimum spend fen)
COUPONS: Final = (
    ("CPN-NEW10", "新人立减10元", 1000, 0),
    ("CPN-99M10", "满99减10", 1000, 9900),
    ("CPN-199M30", "满199减30", 3000, 19900),
    ("CPN-VIP20", "会员专享20元", 2000, 12900),
)

CATEGORIES: Final = ("童书", "文学", "历史", "科幻", "经管", "考试")

#: Eight books per category: (title, author, price in fen).
BOOKS: Final = (
    ("小王子", "圣埃克苏佩里", 2580), ("夏洛的网", "E·B·怀特", 2800),
    ("猜猜我有多爱你", "山姆·麦克布雷尼", 3980), ("神奇校车", "乔安娜·柯尔", 19800),
    ("米小圈上学记", "北猫", 8800), ("十万个为什么", "少年儿童出版社", 12800),
    ("窗边的小豆豆", "黑柳彻子", 2500), ("不一样的卡梅拉", "克利斯提昂·约里波瓦", 11900),
    ("活着", "余华", 4500), ("平凡的世界", "路遥", 10800),
    ("百年孤独", "加西亚·马尔克斯", 5500), ("围城", "钱锺书", 3900),
    ("红楼梦", "曹雪芹", 5990), ("长安的荔枝", "马伯庸", 4500),
    ("额尔古纳河右岸", "迟子建", 3800), ("人间词话", "王国维", 2900),
    ("万历十五年", "黄仁宇", 3600), ("明朝那些事儿", "当年明月", 25800),
    ("人类简史", "尤瓦尔·赫拉利", 6800), ("枪炮、病菌与钢铁", "贾雷德·戴蒙德", 7900),
    ("中国通史", "吕思勉", 8800), ("史记（全本）", "司马迁", 16800),
    ("东京审判", "程兆奇", 6900), ("丝绸之路", "彼得·弗兰科潘", 10800),
    ("三体", "刘慈欣", 16800), ("流浪地球", "刘慈欣", 3600),
    ("基地", "阿西莫夫", 4900), ("沙丘", "弗兰克·赫伯特", 8900),
    ("银河帝国", "阿西莫夫", 19900), ("球状闪电", "刘慈欣", 4200),
    ("北京折叠", "郝景芳", 3900), ("你一生的故事", "特德·姜", 4500),
    ("原则", "瑞·达利欧", 9800), ("穷查理宝典", "查理·芒格", 8800),
    ("纳瓦尔宝典", "埃里克·乔根森", 6800), ("影响力", "罗伯特·西奥迪尼", 6900),
    ("置身事内", "兰小欢", 6500), ("卓有成效的管理者", "彼得·德鲁克", 5900),
    ("增长黑客", "肖恩·埃利斯", 6900), ("定位", "艾·里斯", 5800),
    ("考研英语真题", "张剑", 6980), ("行测5000题", "粉笔", 8800),
    ("申论范文宝典", "华图", 5600), ("高考必刷题", "杜志建", 4980),
    ("教师资格证教材", "中公", 7800), ("法考主观题", "厚大", 9900),
    ("会计初级职称", "东奥", 6600), ("雅思真题集", "剑桥大学出版社", 12800),
)  # fmt: skip

#: Five articles per category: (title, extra tags).
ARTICLES: Final = (
    ("3-6岁亲子共读书单", "亲子,书单"), ("睡前故事怎么讲孩子才爱听", "亲子,阅读习惯"),
    ("绘本里的情绪管理课", "亲子,情绪"), ("寒假阅读打卡21天计划", "打卡,活动"),
    ("如何给孩子挑选科普书", "科普,书单"),
    ("余华：活着的力量", "作家,访谈"), ("茅盾文学奖历届作品盘点", "书单,获奖"),
    ("读红楼梦的三种方法", "经典,方法"), ("年度十大好书揭晓", "书单,年度"),
    ("一个人的书房：读者来信", "UGC,读者故事"),
    ("十分钟读懂明朝", "通俗历史"), ("丝绸之路上的城市", "地理,文化"),
    ("为什么要读史记", "经典"), ("人类简史作者新书解读", "新书,解读"),
    ("历史爱好者入门书单", "书单,入门"),
    ("三体宇宙设定全解析", "三体,解读"), ("科幻小说入门十本", "书单,入门"),
    ("沙丘电影与原著对比", "影视,原著"), ("特德·姜为什么好看", "作家"),
    ("中国科幻的黄金时代", "趋势"),
    ("置身事内读书笔记", "笔记,经济"), ("职场新人必读的五本书", "职场,书单"),
    ("芒格的思维模型", "投资,思维"), ("用户增长方法论", "增长,营销"),
    ("管理者的时间管理", "管理,效率"),
    ("考研英语复习时间表", "考研,计划"), ("行测提分技巧", "考公,技巧"),
    ("申论高分答题模板", "考公,写作"), ("教资备考经验分享", "教资,经验"),
    ("高考冲刺100天", "高考,计划"),
)  # fmt: skip

BOOKS_PER_CATEGORY: Final = 8
ARTICLES_PER_CATEGORY: Final = 5

#: Mini-program page paths and app screen names, by page kind.
PAGE_KINDS: Final = ("home", "category", "book", "article", "cart", "me")
PAGE_WEIGHTS: Final = (0.12, 0.15, 0.45, 0.13, 0.05, 0.10)
MP_PAGES: Final = (
    ("pages/index/index", "首页"),
    ("pages/category/index", "分类"),
    ("pages/book/detail", "图书详情"),
    ("pages/article/detail", "文章"),
    ("pages/cart/index", "购物车"),
    ("pages/me/index", "我的"),
)
APP_SCREENS: Final = (
    ("HomeActivity", "首页"),
    ("CategoryActivity", "分类"),
    ("BookDetailActivity", "图书详情"),
    ("ArticleActivity", "文章"),
    ("CartActivity", "购物车"),
    ("MineActivity", "我的"),
)
CLICK_TEXTS: Final = ("搜索", "查看全部", "加入书架", "展开全文", "去结算", "我的订单")
DEVICES: Final = (
    ('{"$os":"iOS","$os_version":"17.5","$model":"iPhone15,2","$manufacturer":"Apple"}'),
    ('{"$os":"iOS","$os_version":"16.6","$model":"iPhone13,2","$manufacturer":"Apple"}'),
    ('{"$os":"Android","$os_version":"14","$model":"ALN-AL00","$manufacturer":"HUAWEI"}'),
    ('{"$os":"Android","$os_version":"13","$model":"23013RK75C","$manufacturer":"Xiaomi"}'),
    ('{"$os":"Android","$os_version":"14","$model":"PHZ110","$manufacturer":"OPPO"}'),
    ('{"$os":"Android","$os_version":"13","$model":"V2309A","$manufacturer":"vivo"}'),
)
DEVICE_WEIGHTS: Final = (0.24, 0.14, 0.2, 0.16, 0.14, 0.12)
CITIES: Final = ("上海", "北京", "杭州", "南京", "苏州", "广州", "深圳", "成都", "武汉", "西安")
