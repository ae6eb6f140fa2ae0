"""Twelve new calls of a mobile operator on three clear themes (roaming, eSIM, a broken screen),
four each, in English and in Chinese. Every call opens with the company's greeting (the agent's
name and number change) and ends with its closing and a customer filler turn, as real calls do:
the boilerplate that must not drive topic clustering, topic names or evidence. The Chinese
greeting has the usual shape (欢迎致电…，我是客服…); the English one is told only by recurring."""

from __future__ import annotations

from app.core.models import CallSource
from tests.textcalls import CallSpec, text_sources

THEMES = ("roaming", "esim", "screen")

_AGENTS = ("Sam", "Priya", "Tom", "Li")
#: A greeting no filler pattern knows (the company and the agent's name are words like any
#: other): only that every call says it makes it boilerplate.
_EN_GREETING = "Northwind Mobile, {agent} speaking, how can I help you today?"
_EN_CLOSING = (
    "Is there anything else I can help you with today? Thank you for choosing Northwind Mobile, "
    "have a lovely day."
)
_EN_FILLER = ("No, that's all, thanks. Bye.", "Okay, great, thank you so much.")

#: (customer, agent, customer, agent) per call.
_EN: dict[str, list[tuple[str, str, str, str]]] = {
    "roaming": [
        (
            "I'm in Spain this week and my phone shows no service, I think roaming is off.",
            "Roaming is switched off on your plan. I can add the Europe roaming pass for you.",
            "Yes please, turn on roaming for the rest of the trip.",
            "Done. Restart the phone and it will join a Spanish network.",
        ),
        (
            "My bill has forty pounds of roaming data charges from my holiday in Turkey.",
            "Turkey is outside the roaming zone, data there is charged per megabyte.",
            "Nobody told me that roaming in Turkey costs extra.",
            "I can refund half of the roaming charges as a goodwill gesture.",
        ),
        (
            "Does my plan include roaming in the United States next month?",
            "Your plan covers roaming in Europe only; the United States needs the travel add-on.",
            "How much is the travel add-on for roaming?",
            "Eight pounds a day for calls, texts and data abroad.",
        ),
        (
            "My mobile data stopped working abroad in France although roaming is on.",
            "Check that data roaming is enabled in the phone settings and pick the network.",
            "Data roaming was disabled in the settings, it works now.",
            "Good, roaming data in France is included in your plan.",
        ),
    ],
    "esim": [
        (
            "I want to switch my physical SIM card to an eSIM on my new phone.",
            "I'll email you an eSIM QR code; scan it under mobile network settings.",
            "Will the eSIM keep my number?",
            "Yes, the eSIM keeps your number and the old SIM card stops working.",
        ),
        (
            "The eSIM QR code you sent says it has already been used.",
            "Each eSIM code can be scanned only once, I will issue a new eSIM profile.",
            "Please send the new eSIM code to the same email.",
            "Sent, the new eSIM activation code is in your inbox.",
        ),
        (
            "My new smartwatch needs an eSIM, can I add it to my number?",
            "Yes, a companion eSIM for the watch shares your number.",
            "How do I activate the watch eSIM?",
            "Open the watch app on your phone and scan the eSIM code I send you.",
        ),
        (
            "After I reset my phone the eSIM disappeared and I have no signal.",
            "A factory reset deletes the eSIM profile, I'll send a new eSIM activation code.",
            "Can I download the eSIM again over wifi?",
            "Yes, connect to wifi and scan the new eSIM code.",
        ),
    ],
    "screen": [
        (
            "I dropped my phone and the screen is cracked; it's still under contract.",
            "A cracked screen is not covered by the warranty, but your insurance pays one repair.",
            "How long does the screen repair take?",
            "Two days at any store, the cracked screen is replaced with an original part.",
        ),
        (
            "The screen of my phone went black and shows coloured lines after a fall.",
            "That sounds like a broken display; bring it to a store for a screen repair.",
            "Will I lose my photos when the screen is replaced?",
            "No, a screen replacement does not touch your photos.",
        ),
        (
            "My phone screen is shattered, can I borrow a phone while it is repaired?",
            "We lend you a phone while the shattered screen is replaced.",
            "Can I pick up the loan phone when I drop off the broken one?",
            "Yes, the store swaps them while the screen repair is done.",
        ),
        (
            "The touch screen stopped responding in the bottom half after I dropped it.",
            "That is screen damage from the fall; I'll book a screen repair for you.",
            "Do I need to send the phone with the broken screen somewhere?",
            "I'll post you a prepaid box for the phone with the broken screen.",
        ),
    ],
}

_ZH_AGENTS = ("小李", "小王", "小陈", "小张")
_ZH_GREETING = "您好，欢迎致电北风通信，我是客服{agent}，工号{number}，请问有什么可以帮您？"
_ZH_CLOSING = "请问还有其他可以帮您的吗？感谢您致电北风通信，祝您生活愉快，再见。"
_ZH_FILLER = ("好的，麻烦你了。", "行吧，那就这样。")

_ZH: dict[str, list[tuple[str, str, str, str]]] = {
    "roaming": [
        (
            "我下周去日本出差，想开通国际漫游。",
            "您的套餐还没有开通国际漫游，我现在帮您开通日本漫游包。",
            "漫游包一天多少钱？",
            "日本漫游包每天二十五元，含通话和流量。",
        ),
        (
            "我在泰国用了几天流量，账单多了三百块漫游费。",
            "泰国不在漫游套餐范围内，漫游流量按兆收费。",
            "出国前没人告诉我泰国漫游这么贵。",
            "我可以为您减免一半的漫游费用。",
        ),
        (
            "我在香港手机一直没有信号，是不是漫游没开？",
            "您的号码国际漫游功能是关闭的，我已经帮您打开漫游。",
            "打开漫游以后要重启手机吗？",
            "需要重启一下，然后手机会自动连接香港的漫游网络。",
        ),
        (
            "出国前想问一下国际漫游套餐怎么收费。",
            "欧洲漫游包每天三十元，美国漫游包每天三十五元。",
            "漫游包可以提前开通吗？",
            "可以，漫游包在您到达当地后开始计费。",
        ),
    ],
    "esim": [
        (
            "我想把实体卡换成eSIM，新手机只支持eSIM。",
            "可以，我把eSIM二维码发到您的邮箱，在手机设置里扫码即可。",
            "换成eSIM以后号码不变吧？",
            "号码不变，原来的实体卡会停用，以eSIM为准。",
        ),
        (
            "你们发的eSIM二维码扫不了，提示已经被使用。",
            "每个eSIM二维码只能扫一次，我给您重新生成eSIM配置。",
            "新的eSIM二维码还发到原来的邮箱吗？",
            "是的，新的eSIM激活码已经发到您的邮箱。",
        ),
        (
            "我的智能手表想开通eSIM副卡，怎么办理？",
            "手表eSIM副卡和主号共用号码，每月十元。",
            "手表eSIM怎么激活？",
            "在手机上的手表应用里扫描我发给您的eSIM二维码。",
        ),
        (
            "手机恢复出厂设置以后eSIM没了，现在没有信号。",
            "恢复出厂设置会删除eSIM配置，我给您重新发一个eSIM激活码。",
            "连上无线网能重新下载eSIM吗？",
            "可以，连上无线网后扫描新的eSIM二维码就行。",
        ),
    ],
    "screen": [
        (
            "手机摔了一下屏幕碎了，还在合约期内能修吗？",
            "屏幕碎裂不在保修范围内，不过您的碎屏险可以免费换一次屏幕。",
            "换屏幕要多久？",
            "在营业厅换屏幕需要两天，用的是原装屏幕。",
        ),
        (
            "手机摔了以后屏幕黑了，只显示几条彩色的线。",
            "这是屏幕摔坏了，请带到营业厅检测维修屏幕。",
            "换屏幕会不会丢照片？",
            "不会，更换屏幕不影响手机里的照片。",
        ),
        (
            "手机屏幕摔裂了，维修期间能借一台备用机吗？",
            "可以，换屏幕期间营业厅会借给您一台备用机。",
            "送修碎屏手机的时候就能拿备用机吗？",
            "是的，您送修屏幕的时候当场领取备用机。",
        ),
        (
            "屏幕下半部分触摸没反应，之前摔过一次。",
            "这是摔坏了触摸屏，我帮您预约屏幕维修。",
            "屏幕坏了的手机要寄到哪里？",
            "我给您寄一个免邮费的盒子，把屏幕坏的手机放进去寄回来。",
        ),
    ],
}


def _calls(
    themes: dict[str, list[tuple[str, str, str, str]]],
    greeting: str,
    closing: str,
    fillers: tuple[str, str],
    agents: tuple[str, ...],
    prefix: str,
    date: str,
) -> dict[str, CallSpec]:
    out: dict[str, CallSpec] = {}
    for theme, calls in themes.items():
        for i, (asks, answers, asks_more, resolves) in enumerate(calls):
            hello = greeting.format(agent=agents[i], number=1000 + 7 * i)
            out[f"{prefix}-{theme}-{i}"] = (
                [],
                f"{date}{i + 1}",
                [
                    ("agent", hello),
                    ("customer", asks),
                    ("agent", answers),
                    ("customer", asks_more),
                    ("agent", resolves),
                    ("agent", closing),
                    ("customer", fillers[i % 2]),
                ],
            )
    return out


def english_calls() -> dict[str, CallSpec]:
    """``en-<theme>-<i>``: the twelve English calls, unlabeled."""
    return _calls(_EN, _EN_GREETING, _EN_CLOSING, _EN_FILLER, _AGENTS, "en", "2026-12-0")


def chinese_calls() -> dict[str, CallSpec]:
    """``zh-<theme>-<i>``: the twelve Chinese calls, unlabeled."""
    return _calls(_ZH, _ZH_GREETING, _ZH_CLOSING, _ZH_FILLER, _ZH_AGENTS, "zh", "2026-12-1")


def theme_of(call_id: str) -> str:
    return call_id.split("-")[1]


def sources(language: str) -> list[CallSource]:
    return text_sources(english_calls() if language == "en" else chinese_calls())
