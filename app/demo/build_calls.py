"""Build app/demo/calls.jsonl, the CallScope demo corpus.

Run from the project root:

    python app/demo/build_calls.py

Every transcript below was written by hand for this project (MIT, like the
rest of CallScope). All people, companies, order numbers, phone numbers and
e-mail addresses are invented; phone numbers use the 555-01xx / 07700 900xxx
fictional ranges and e-mails use example.com.

The script only does bookkeeping: it shuffles the calls with a fixed seed so
that ids do not reveal the label, hands out ids demo-001..demo-120 and dates
(2026-09-01..2026-11-15, chronological by id), adds "audio" paths for the
short calls marked for the audio subset, validates everything and writes the
JSONL (UTF-8, one object per line). Output is deterministic.

Turns are listed as plain strings; speakers alternate agent, customer, agent,
... starting with the agent.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "calls.jsonl"

LABELS = [
    "refund",
    "delivery_delay",
    "billing_error",
    "account_access",
    "cancellation",
    "product_defect",
    "address_change",
    "complaint_escalation",
]

CALLS: list[dict] = []


def call(
    labels: str, lang: str, turns: list[str], split: str = "train", audio: bool = False
) -> None:
    """Register one call. labels: 'primary' or 'primary+secondary'."""
    CALLS.append(
        {
            "labels": labels.split("+"),
            "language": lang,
            "split": split,
            "audio": audio,
            "turns": turns,
        }
    )


# ---------------------------------------------------------------------------
# refund
# ---------------------------------------------------------------------------

call(
    "refund",
    "en",
    [
        "Thanks for calling Harbor Home, this is Dana. How can I help?",
        "Hi, I returned a coffee table last week and I still haven't seen the money back on my card.",
        "I see the return arrived on Monday. The refund of two hundred and forty-nine dollars went out today, so allow three to five business days.",
        "Okay, great. Thanks for checking.",
    ],
    audio=True,
)

call(
    "refund",
    "en",
    [
        "Good morning, Pinecrest Grocery delivery, Marco speaking.",
        "Morning. My order came yesterday and half the strawberries were moldy, and the milk was past its date. I'd like my money back for those two.",
        "Sorry about that. I've credited eleven dollars and forty cents back to your card. You don't need to return anything.",
        "Perfect, that's all I needed.",
        "Enjoy the rest of your day.",
    ],
    audio=True,
)

call(
    "refund",
    "en",
    [
        "You've reached Stride Footwear support, my name is Priya.",
        "Hi Priya. I sent back the trail runners because they were half a size too small, and the tracking says you got them. When do I get my money?",
        "Let me look. Yes, the return is processed. The sixty-five dollar refund should show on your PayPal within two days.",
        "Cool, thank you.",
    ],
    split="test",
    audio=True,
)

call(
    "refund",
    "en",
    [
        "Hello, thanks for calling Lumen Electronics, this is Grace speaking. Can I have your order number please?",
        "Sure, it's LE-4410-873. I bought the wireless earbuds about two weeks ago.",
        "Got it, the Aero Buds in white. What's going on with them?",
        "Nothing's wrong with them exactly, I just don't use them. My daughter got me a pair for my birthday the same week. I've still got the box and everything.",
        "That's within our thirty-day window, so no problem at all. Would you like store credit or the original payment method?",
        "Original payment, please. I don't shop here often enough for credit.",
        "Understood. I'll email you a prepaid return label. Is the address on file still m.okafor@example.com?",
        "Yes, that's me.",
        "Once the courier scans the parcel, the $89.99 goes back to your Visa within five to seven business days.",
        "Great, thanks Grace.",
    ],
)

call(
    "refund",
    "en",
    [
        "Velocity Fiber, Tom speaking, how can I help you today?",
        "Yeah, hi. I paid a ninety-nine dollar installation fee and the technician never showed up. Twice. I've given up, I'm staying with my old provider.",
        "I'm really sorry. I can see two missed appointments on the account, on the 14th and the 21st. That shouldn't have happened.",
        "So can I get that fee back or not?",
        "Yes. Since the service was never activated, I'm reversing the installation fee in full. It can take up to ten days to land on your card.",
        "Ten days? Fine. Will I get something in writing?",
        "You'll get a confirmation email within the hour. The reference number is VF-22871.",
        "Okay. Thanks.",
    ],
)

call(
    "refund",
    "en",
    [
        "Hi, you're through to Maple & Oak Furniture. I'm Ellis.",
        "Hi Ellis. So the sofa we ordered, we ended up sending it back with the delivery guys the same day because it wouldn't go up the stairwell. I'm just trying to figure out where things stand with the money.",
        "Can I get your surname and postcode?",
        "Brennan, B-R-E-N-N-A-N. Postcode is 40217.",
        "Thank you, Mrs. Brennan. The sofa's back at our warehouse. There's a ten percent restocking fee on oversized items, so you'd get $1,170 of the $1,300.",
        "Nobody mentioned a restocking fee. It barely left the truck.",
        "That's fair, and since it was refused at the door I can waive it. You'll get the full $1,300 back.",
        "Thank you, I appreciate that.",
        "It should reach your account in about a week. Anything else I can do?",
        "No, that's it.",
    ],
    split="test",
)

call(
    "refund",
    "en",
    [
        "Thanks for calling Orbit Mobile, my name is Keisha. Who am I speaking with?",
        "This is Daniel Reyes. I returned a phone over three weeks ago and there's still no refund.",
        "Let me pull that up, Daniel. Can you confirm the phone number on the account?",
        "555-0134.",
        "Thanks. I see the Pixel was received at our returns center, but the inspection hasn't been marked complete, which is why the refund is on hold.",
        "It was still sealed! What is there to inspect?",
        "I agree it should have been quick. I'm escalating it to the returns team now, and I'll call you back tomorrow before noon with an update.",
        "Okay. Tomorrow before noon. I'll hold you to that.",
    ],
)

call(
    "refund+delivery_delay",
    "en",
    [
        "Stride Footwear, this is Sam. How can I help?",
        "I ordered boots on the 2nd, order SF-77120. It's been nearly three weeks. I don't even want them anymore, I just want my money back.",
        "Let me look. The parcel's with DHL, and the last scan was at their hub in Leipzig nine days ago.",
        "Nine days without moving. That's ridiculous.",
        "It is. I'll open a lost-parcel claim with DHL, but I'll issue your refund now rather than wait for it. That's $134.50 to your Mastercard.",
        "And if the boots turn up after all?",
        "Just refuse the delivery and it'll come back to us. You don't need to do anything else.",
        "Alright, that works.",
    ],
)

call(
    "refund",
    "en",
    [
        "Good afternoon, Pinecrest Market online, Lucy speaking.",
        "Hi Lucy. I got the weekly box yesterday, but I'd already removed the meal kit add-on. It came anyway, the salmon one. I'm vegetarian now, so it's no use to me.",
        "Oh, I'm sorry. Let me check... yes, you removed it on Sunday, but the box had already been packed by then.",
        "I figured. I gave it to my neighbor, so I can't send it back.",
        "That's completely fine, we wouldn't want perishables back anyway. I've put the $24.99 back on your original payment method.",
        "Lovely. And it won't happen next week?",
        "No, next week's order only has the regular produce box.",
        "Great, thanks.",
    ],
    split="test",
)

call(
    "refund",
    "en",
    [
        "Thank you for calling Brightwave Appliances. This is Nadia, may I have your name?",
        "Gordon Pike. I returned a stand mixer and you people gave me a gift card instead of my money.",
        "I'm sorry for the confusion, Mr. Pike. Let me see. The return was processed at our Eastgate store on the 9th, and it was issued as store credit.",
        "I paid with my credit card. I never asked for a gift card, the kid at the counter just handed it to me.",
        "When a receipt isn't shown, the store issues credit by default. Do you still have the receipt or the order email?",
        "I have the email. Order BW-300918.",
        "That matches. If you bring the unused gift card to any store, they'll reverse it to your card.",
        "I'm not driving back there. Can't you just do it over the phone?",
        "I can, as long as the gift card hasn't been used, and I see the $279 is untouched. I'll deactivate it and put the refund on the card ending 4821.",
        "Fine. Thank you. That's what should've happened in the first place.",
    ],
)

call(
    "refund",
    "en",
    [
        "Hi there, StreamNest support, Jordan here.",
        "Hi, um, I got charged $119 for a yearly renewal. I honestly forgot it was annual. I haven't watched anything since spring.",
        "Let me take a look. The renewal went through four days ago, and there's been no viewing on the account since April.",
        "Yeah. Is there any way to get that back? It's a lot of money for me right now.",
        "Since it's within fourteen days and unused, I can return the full amount. Would you like me to keep the account open on the free tier?",
        "Sure, the free tier is fine.",
        "Done. The $119 will be back on your card in three to five days, and there's a confirmation on its way to your email.",
        "Thank you so much, that really helps.",
    ],
)

call(
    "refund",
    "en",
    [
        "Maple & Oak, you're speaking with Hugo.",
        "Hi Hugo. I bought a bookshelf from you ten days ago for $389 and now it's on sale for $299. Do you do anything about that after purchase?",
        "We do, we match our own prices for fourteen days. Can I have the order number?",
        "MO-58213.",
        "Found it. I'll send the $90 difference back to your original payment method. It should appear within a week.",
        "Oh nice, that was easy.",
    ],
)

call(
    "refund",
    "zh",
    [
        "您好，这里是优选生鲜客服，我是小张，请问有什么可以帮您？",
        "你好，我昨天买的一箱车厘子，收到的时候有一半都烂了，我想退款。",
        "非常抱歉给您带来不好的体验。麻烦您提供一下订单号好吗？",
        "订单号是YX8831502。",
        "好的，查到了，这箱车厘子是一百二十八元。您方便拍几张照片上传到订单页面吗？",
        "已经拍好了，刚才传上去了。",
        "收到了，确实烂得比较厉害。我这边直接给您全额退款，一到三个工作日原路退回。",
        "好的，谢谢你。",
    ],
)

call(
    "refund+delivery_delay",
    "zh",
    [
        "您好，欢迎致电易购商城，工号0372为您服务。",
        "喂，你好。我十号下的单，一双运动鞋，到现在都没到，物流一直显示在中转站。我不想要了，能直接退钱吗？",
        "我帮您查一下。您的包裹是中通快递承运的，最后一次更新是五天前，在郑州转运中心。",
        "对，就一直卡在那儿。我等不了了，下周就要穿。",
        "理解您的心情。我先帮您申请退款，金额三百九十九元，同时联系中通拦截包裹。如果之后包裹送到了，您直接拒收就可以。",
        "行，那钱多久能到？",
        "退款审核通过后，一般二十四小时内退回您的支付宝。",
        "好的，麻烦你了。",
    ],
)

call(
    "refund",
    "zh",
    [
        "您好，星辰数码售后，请问您需要办理什么业务？",
        "我上周买了一个蓝牙音箱，用了两天觉得音质不太行，七天无理由还能退吗？",
        "可以的，只要包装和配件齐全就没问题。请问您的手机号是多少？我查一下订单。",
        "138-0013-8000。",
        "查到了，您是上周五签收的，还在七天内。我给您预约上门取件，顺丰的快递员会联系您。",
        "运费要我自己出吗？",
        "无理由退货的话运费是十二元，会从退款里扣除，实际退您二百八十七元。",
        "行吧，那就这样。",
    ],
)

# ---------------------------------------------------------------------------
# delivery_delay
# ---------------------------------------------------------------------------

call(
    "delivery_delay",
    "en",
    [
        "Swift Home Goods, this is Ben, how can I help?",
        "Hi, my dining chairs were supposed to arrive on Friday and nobody came. The order number is SH-20944.",
        "I'm sorry. It looks like the truck was overbooked. Your new delivery date is Tuesday, between eight and noon.",
        "Tuesday morning works. Please make sure it actually happens this time.",
    ],
    audio=True,
)

call(
    "delivery_delay",
    "en",
    [
        "Hello, Orbit Mobile orders, Rachel speaking.",
        "Hey Rachel, I paid for next-day shipping on a new phone and it's been four days. What's going on?",
        "Let me see. UPS shows a weather delay at their Louisville hub. It's moving again and should be with you tomorrow.",
        "Can you at least text me the tracking link?",
        "Sure, it's on its way to your phone now.",
    ],
    audio=True,
)

call(
    "delivery_delay",
    "en",
    [
        "Pinecrest Grocery, this is Omar.",
        "Hi, my delivery window was four to six and it's now half past seven. Is the driver still coming?",
        "Yes, he's running behind after a road closure. He's two stops away, so about twenty minutes.",
        "Okay, I'll wait. The ice cream is probably soup by now, though.",
        "If anything frozen arrives melted, call us back and we'll credit it.",
    ],
    audio=True,
)

call(
    "delivery_delay",
    "en",
    [
        "Good evening, Lumen Electronics, my name is Carla. How may I help?",
        "Hi Carla. I ordered a tablet for my son's birthday, which is Saturday, and the tracking hasn't updated since Monday.",
        "Oh no, let's find it. What's the order number?",
        "LE-5521-094.",
        "Thank you. It went out with FedEx Ground from our Reno warehouse. The last scan says it arrived at the FedEx facility in Salt Lake City on Monday evening.",
        "And nothing since. Is it lost?",
        "Not necessarily, Ground parcels sometimes skip scans between hubs. But with the birthday coming up, I don't want to gamble. I can ship a replacement overnight today at no cost.",
        "Really? That would be amazing.",
        "Done. You'll get a new tracking number by email in about an hour. If the first box shows up too, just send it back with the label inside.",
        "Thank you so much. You've saved the weekend.",
    ],
)

call(
    "delivery_delay",
    "en",
    [
        "Velocity Fiber support, this is Anita.",
        "Hi. I switched to your gigabit plan and you were supposed to mail me a new router. My old one stops working on the 30th when the old plan ends.",
        "Let me check the shipment. It's with USPS, and the status is 'in transit, arriving late'.",
        "Arriving late. That's all it says?",
        "Unfortunately that's all they give us. Here's what I can do: I'll keep your old plan running another week at no charge so you're not left without internet.",
        "Okay, that helps. But I'd really like to know when it's coming.",
        "I'll keep an eye on the tracking and call you back on Thursday afternoon with whatever I find.",
        "Thursday. Alright.",
    ],
)

call(
    "delivery_delay",
    "en",
    [
        "Maple & Oak customer care, Felix speaking.",
        "Hi, um, I'm calling about the wardrobe. We were told six to eight weeks and we're at week eleven now. I'm living out of cardboard boxes.",
        "I completely understand. Can I have the order reference?",
        "MO-41877. Under Hannah Lindqvist.",
        "Thanks, Hannah. The wardrobe was held up at the workshop by a shortage of oak veneer. It's now scheduled to leave next week.",
        "And then how long to me?",
        "Usually five to seven days with our own delivery team, so realistically early next month. I'll add a note to prioritize you.",
        "I'd appreciate an email when it actually ships. It's hannah.l@example.com.",
        "Added. You'll get an email with the delivery slot as soon as it's loaded.",
        "Thanks.",
    ],
)

call(
    "delivery_delay",
    "en",
    [
        "Hello, Stride Footwear UK, you're through to Aisha.",
        "Hiya. I've got a parcel that's been 'out for delivery' with Royal Mail for three days. I didn't know that was even possible.",
        "It's unusual. Can you read me the tracking number?",
        "It's RM 4402 7781 5GB.",
        "Thanks. It's showing at your local delivery office. Sometimes if the postie runs out of time it just stays on the van. I'll raise an enquiry with Royal Mail today.",
        "Will that actually do anything?",
        "It usually gets things moving within a day or two. If it's not with you by Friday, we'll send out a new pair.",
        "Okay, fair enough.",
    ],
)

call(
    "delivery_delay",
    "en",
    [
        "Pinecrest Grocery, good morning, this is Helen.",
        "Morning. I booked the seven to nine slot because I leave for work at quarter past nine. It's now half nine and I'm sitting in my car outside my house.",
        "I'm sorry, that's really frustrating. Let me check where the van is... The driver broke down on the ring road. A replacement van is collecting the orders now.",
        "So when?",
        "The estimate is after eleven. Would you rather move the delivery to this evening?",
        "Yes, six to eight tonight. And I'm not paying the delivery fee for this.",
        "Of course. The fee is waived and you're booked for six to eight.",
        "Thank you.",
    ],
    split="test",
)

call(
    "delivery_delay",
    "en",
    [
        "Thank you for calling Lumen Electronics international support, I'm Victor.",
        "Hi Victor, I'm calling from Toronto. I ordered a headset three weeks ago and it's stuck in customs.",
        "I see it. DHL Express flagged it for a customs review on the 18th. Sometimes they need the buyer to confirm the value.",
        "Nobody contacted me.",
        "They normally text or email. Let me check the phone number on the order. Is it 555-0187?",
        "No! That's my old number. The new one is 555-0162.",
        "That explains it. I'll update the contact with DHL and send them the commercial invoice directly. That usually clears within two business days.",
        "Okay, thanks. That's a relief.",
    ],
)

call(
    "delivery_delay",
    "en",
    [
        "Hi, Bloom Box subscriptions, Lena here.",
        "Hi Lena. Is something going on with shipping? My box always comes by the 5th and it's the 12th.",
        "We had a packing backlog this month, and every box went out a week late. Yours left yesterday with Evri and should be with you by Saturday.",
        "Ah, okay. As long as it's coming.",
    ],
)

call(
    "delivery_delay+complaint_escalation",
    "en",
    [
        "Harbor Home deliveries, this is Kevin.",
        "Kevin, this is the third time I'm calling. My bed frame has been rescheduled three times. Three. I took a day off work for each one.",
        "I'm really sorry, let me look up the order.",
        "HH-99314. Under Patel.",
        "Thank you, Mr. Patel. I can see the deliveries on the 3rd, the 10th and the 17th were all cancelled by the carrier, Northline Freight.",
        "I don't care whose fault it is. I want to speak to a supervisor, right now. I'm done with the scripts.",
        "I understand. I'll transfer you to my supervisor, Monica. I've marked the order as urgent so it's already on her screen.",
        "Fine.",
        "Transferring you now. Thank you for your patience, Mr. Patel.",
    ],
)

call(
    "delivery_delay",
    "en",
    [
        "Orbit Mobile, Jess speaking. How can I help today?",
        "Hi. I'm switching over to you guys and I'm supposed to get a SIM in the mail, but I'm still waiting and my old carrier cuts me off on Monday.",
        "Let me find your account. Can you give me the email you signed up with?",
        "It's t.nguyen@example.com.",
        "Thanks. The SIM was posted first class on the 6th, but mail is running slow in your area. Would an eSIM work? Your phone supports it.",
        "Oh, I didn't know that was an option. Yes please.",
        "I'm sending the QR code to your email now. Scan it in your settings and you'll be up and running in about ten minutes.",
        "Perfect, thank you.",
    ],
)

call(
    "delivery_delay",
    "zh",
    [
        "您好，京选家居客服，请问有什么可以帮您？",
        "你好，我买的那张沙发说好上周六送，到现在都没人联系我。",
        "抱歉让您久等了。请问收货人的手机号是多少？",
        "139-1234-5678，收货人姓王。",
        "王先生您好，查到了。您的沙发属于大件商品，由德邦物流配送，目前还在本地仓库。最近订单量大，配送排期往后推了。",
        "那到底什么时候能送？家里人都等着用呢。",
        "我这边已经帮您加急了，预计这周四送达。师傅会提前一天给您打电话确认时间。",
        "好，那周四我在家等着，别再拖了。",
    ],
    split="test",
)

call(
    "delivery_delay",
    "zh",
    [
        "您好，这里是快鲜达，请问您需要什么帮助？",
        "我中午十二点下的单，说四十分钟送到，现在都一点半了。",
        "非常抱歉，骑手因为下雨路不好走耽误了，现在离您还有大约两公里。",
        "那好吧，我再等等。",
        "给您添麻烦了，我们往您账户里发了一张十元无门槛优惠券作为补偿。",
        "行，谢谢。",
    ],
)

call(
    "delivery_delay",
    "zh",
    [
        "您好，海淘优品客服小李，很高兴为您服务。",
        "你好，我想问一下，我在你们这儿买的奶粉，都两个星期了，物流一直显示“清关中”，这正常吗？",
        "我帮您看一下。您的订单是从保税仓发出的，最近海关抽检比例比较高，清关时间会长一些。",
        "孩子的奶粉快喝完了，我有点着急。",
        "理解您的心情。您的包裹今天上午已经清关完成，明天交给EMS派送，预计后天可以收到。",
        "那就好。要是后天还没到我再打过来。",
        "好的，您也可以在订单页面随时查看物流进度。",
    ],
)

# ---------------------------------------------------------------------------
# billing_error
# ---------------------------------------------------------------------------

call(
    "billing_error",
    "en",
    [
        "Velocity Fiber billing, this is Maria.",
        "Hi Maria. My bill this month is eighty-nine dollars, but my plan is fifty-nine. I didn't change anything.",
        "I see it. Your promotional discount dropped off by mistake. I've put it back and credited the thirty dollars to your next bill.",
        "Great, thank you.",
    ],
    audio=True,
)

call(
    "billing_error",
    "en",
    [
        "Thanks for calling StreamNest, this is Leo.",
        "Hi Leo, I was charged twice for my monthly plan, both on the same day.",
        "You're right, I see two charges of twelve ninety-nine. The second one was a system error, and I've reversed it.",
        "When will it show up?",
        "Within three to five business days, back on the same card.",
    ],
    audio=True,
)

call(
    "billing_error",
    "en",
    [
        "Orbit Mobile account services, my name is Tasha.",
        "Hello. There's a forty dollar roaming charge on my bill, but I haven't left the country all year.",
        "Let me check. Your phone connected to a Canadian tower near the border. I'll remove the charge as a one-time courtesy.",
        "I live ten miles from the border, so please make sure it doesn't happen again.",
        "I've put a roaming block on the line, so it can't be charged again.",
    ],
    split="test",
    audio=True,
)

call(
    "billing_error+refund",
    "en",
    [
        "Lumen Electronics, this is Patrick. How can I help?",
        "Hi Patrick. I bought a 55-inch TV on sale for $449, but my card was charged $649. I have a screenshot of the sale price.",
        "Let me pull up the order. Can I have the order number or the email?",
        "The email's r.alvarez@example.com.",
        "Thanks, Ms. Alvarez. I see it. The sale price didn't apply because the promotion ended at midnight Pacific and your order came in at 12:04.",
        "Four minutes? The website still showed $449 when I checked out.",
        "You're right, the page was showing a cached price, and that's on us. I'll honor the $449 and refund the $200 difference to your card ending 4821.",
        "Thank you. How long will that take?",
        "Five to seven business days. I'll send the confirmation to your email.",
        "Okay, thanks Patrick.",
    ],
)

call(
    "billing_error",
    "en",
    [
        "Pinecrest Grocery, you're speaking with Joy.",
        "Hi Joy. I'm looking at my receipt and I'm confused. I ordered the store-brand olive oil, you substituted a fancy one, and I got charged the fancy price. Eighteen fifty instead of seven ninety-nine.",
        "Substitutions should always be charged at the original item's price or less. That shouldn't have happened.",
        "That's what I thought.",
        "I've corrected it and credited the $10.51 difference to your Pinecrest wallet. Would you prefer it back on your card?",
        "The wallet's fine, I order every week anyway.",
    ],
)

call(
    "billing_error",
    "en",
    [
        "Harbor Home financing, this is Steve. May I have your account number?",
        "It's 7730-2291. I'm on the twelve-month zero-interest plan for a sectional sofa.",
        "Thank you. How can I help?",
        "My autopay took $412 this month. It's supposed to be $137.50. I almost bounced my rent.",
        "I'm very sorry. Let me look... The system pulled three installments at once after an update over the weekend. A handful of customers were affected.",
        "A handful of customers. Great. So what happens now?",
        "I'm sending back the two extra installments, $275, today. Because it's a bank transfer it takes two to three business days. I'll also mail you a letter you can show your bank if you get any overdraft fees.",
        "Can you guarantee this won't happen next month?",
        "The fix went in yesterday, and I've put a manual check on your next payment. I'll call you the day before the next autopay to confirm the amount.",
        "Alright. Please do.",
    ],
)

call(
    "billing_error",
    "en",
    [
        "StreamNest support, Amir here.",
        "Hey, my statement doesn't add up. I'm on the basic plan but it says $17.99.",
        "Let me look. Ah, a 4K add-on was switched on from your account on the 2nd.",
        "I never did that. I don't even have a 4K TV.",
        "It was added from a Roku device. Does anyone else in the household use the account?",
        "My brother-in-law was staying with us... okay, that might have been him. Can you take it off?",
        "I've removed the add-on, and since it was barely used, I'll credit this month's $5 difference.",
        "Thanks, that's fair.",
    ],
    split="test",
)

call(
    "billing_error",
    "en",
    [
        "Velocity Fiber, this is Chris, how can I help you?",
        "Hi Chris. I got a $10 late fee, but I paid on the 1st like always. I've got the bank confirmation right here.",
        "Let me check the payment history. The payment came in on the 1st, but it wasn't posted until the 4th because of the holiday weekend.",
        "So that's not my fault.",
        "No, it isn't. I've removed the late fee. It'll show as a credit on your next statement.",
        "Thanks.",
        "Is there anything else I can help with?",
        "No, that's all.",
    ],
)

call(
    "billing_error",
    "en",
    [
        "Orbit Mobile, my name is Derek. Can I get your name and the number on the account?",
        "Lorna Fitzgerald, 555-0119. I've been paying for phone insurance for six months that I never signed up for.",
        "I'm sorry to hear that, Ms. Fitzgerald. Let me review... Device Protection Plus was added when you upgraded your handset in the spring.",
        "The guy in the shop never mentioned it. I would have said no. It's nine dollars a month.",
        "I understand. I can remove it effective today. For past charges, I'm able to credit up to three months straight away, so $27.",
        "That's not good enough. I didn't agree to any of it. I want all six months back.",
        "Let me ask my team lead for an exception... Okay, she's approved the full $54. It'll appear as a credit on your next bill.",
        "Thank you. That's all I wanted.",
    ],
)

call(
    "billing_error",
    "en",
    [
        "Hello, Bloom Box billing, Ivy speaking.",
        "Hi Ivy. I live in Dublin and I was charged in dollars instead of euros, and my bank added a foreign transaction fee on top.",
        "Let me check your settings. Your billing country was set to the US when you signed up. I'll switch it to Ireland.",
        "And the fee?",
        "I'll refund the conversion difference and the bank fee. If you email a screenshot of the fee to billing@example.com, I'll process it today.",
        "Will do. Thanks.",
    ],
)

call(
    "billing_error",
    "en",
    [
        "Hi, you've reached Lumen Care, Maya here.",
        "Hi. I was told the extended warranty came free with my laptop, but there's a $59 charge for it on my card.",
        "I see the bundle offer on your order. The warranty should have been zero. I'll remove the charge right away.",
        "Thanks, that's all.",
    ],
)

call(
    "billing_error",
    "en",
    [
        "Stride Footwear, good afternoon, this is Owen.",
        "Hi Owen. Your website says free shipping over $75. My order was $82 and I was still charged $8.95 for shipping.",
        "Let me have a look. Can I have the order number?",
        "SF-81236.",
        "I see. Your discount code brought the total to $71 before shipping, so it fell under the threshold. Still, the cart should have warned you, so I'll refund the shipping as a goodwill gesture.",
        "Oh, I didn't realize the code counted. Thanks, that's nice of you.",
    ],
)

call(
    "billing_error",
    "zh",
    [
        "您好，畅联宽带客服中心，请问有什么可以帮您？",
        "你好，我这个月的宽带账单是一百九十九，可我办的是一百二十九的套餐，怎么多扣了七十块？",
        "请您提供一下宽带账号或者办理业务时留的手机号。",
        "手机号是138-0013-8000。",
        "好的，查到了。您的优惠活动上个月到期，系统自动恢复了原价。",
        "办的时候说好是两年优惠，怎么一年就到期了？",
        "我看了一下当时的办理记录，确实写的是二十四个月，是系统设置错了。我马上帮您更正，多扣的七十元在下个月账单里抵扣。",
        "那行，记得给我发个短信确认一下。",
        "好的，处理完会给您发短信通知。",
    ],
    split="test",
)

call(
    "billing_error",
    "zh",
    [
        "您好，乐享会员中心，工号1158。",
        "你好，我的视频会员上个月就关掉自动续费了，为什么这个月又扣了二十五块？",
        "我帮您查一下……您关闭的是微信支付的续费，但您的会员同时还绑定了支付宝自动续费，所以那边扣款了。",
        "我根本不知道绑了两个。",
        "非常抱歉没有提示清楚。这次扣款我们给您退回，同时把支付宝的自动续费也帮您关掉了。",
        "好，那就行。",
    ],
)

call(
    "billing_error",
    "zh",
    [
        "您好，优选生鲜，请问有什么问题？",
        "我今天早上下了一单，付款的时候卡了一下，结果扣了两次钱，一共扣了三百多。",
        "请问您的订单号或者付款手机号是多少？",
        "手机号186-2150-4477。",
        "查到了，您的订单金额是一百六十三块五，系统确实收了两笔。重复的那笔已经提交退款，一般两小时内原路退回。",
        "好的，要是没退我再找你们。",
        "可以的，您也可以在“我的—退款记录”里查看进度。",
    ],
)

# ---------------------------------------------------------------------------
# account_access
# ---------------------------------------------------------------------------

call(
    "account_access",
    "en",
    [
        "StreamNest help desk, this is Kim.",
        "Hi Kim. I keep getting 'incorrect password' even after I reset it. I've tried three times.",
        "Your account was locked after too many attempts. I've unlocked it, so please try the new password again.",
        "Okay... yes, I'm in now. Thanks!",
    ],
    audio=True,
)

call(
    "account_access",
    "en",
    [
        "Orbit Mobile, Paul speaking.",
        "Hi Paul, I got a new phone number and now I can't get the login code for my account, because it goes to my old number.",
        "I can help with that. For security, I've sent a verification link to the email on file. Click it and you can update the number.",
        "Got it, the email just came in. That worked.",
    ],
    audio=True,
)

call(
    "account_access",
    "en",
    [
        "Pinecrest Grocery app support, this is Sara.",
        "Hey Sara. The app logs me out every time I open it, and I can't check out my cart.",
        "That's a known issue with the old version. Please update the app, then sign in again.",
        "Updating now. Okay, it's keeping me logged in. Cool.",
        "Great. Your cart should still be saved.",
    ],
    audio=True,
)

call(
    "account_access",
    "en",
    [
        "Lumen Electronics account security, this is Monique. How can I help?",
        "Hi, I think someone got into my account. I got an email saying my email address was changed, and now I can't log in at all.",
        "I'm sorry, let's secure it right away. Can you tell me your full name and the original email on the account?",
        "Wei Li, and it was li.wei@example.com.",
        "Thank you. The email was changed last night to an address we don't recognize, and there's an order for two gift cards pending.",
        "I definitely didn't order gift cards.",
        "I've cancelled that order and frozen the account. I'm restoring li.wei@example.com and sending you a reset link. Please choose a password you haven't used anywhere else.",
        "Okay. Should I do anything about my card?",
        "The saved card ending 4821 wasn't charged, but I've removed it from the account to be safe. You may want to let your bank know.",
        "Okay, I'll call them. Thank you for acting so fast.",
    ],
)

call(
    "account_access",
    "en",
    [
        "Velocity Fiber online account support, this is Raj.",
        "Hi Raj. My phone fell in the lake and my authenticator app was on it. Now your portal wants a six-digit code I can't get.",
        "Ouch, sorry about the phone. Do you have any of the backup codes from when you set up two-step verification?",
        "I probably printed them and lost them.",
        "No problem, I'll verify you another way. Can you tell me your last payment amount and the service address?",
        "It was $64.99, and the address is 18 Linden Court, apartment 3B.",
        "That matches. I've turned off two-step verification for now. When you log in, you'll be asked to set it up again on your new phone.",
        "Great. I'll do that tonight.",
    ],
    split="test",
)

call(
    "account_access",
    "en",
    [
        "Stride Footwear, this is Nora, how can I help?",
        "Hi Nora. This is weird. I logged in and my order history is gone, my loyalty points are gone, everything. It's like I'm a brand new customer.",
        "Let me look. Which email did you log in with?",
        "j.okoro@example.com.",
        "I see two profiles: one with j.okoro@example.com, and an older one with jokoro@example.com, without the dot. Your history and 1,250 points are on the older one.",
        "Oh, I must have signed in with Google last time. Can you merge them?",
        "Yes, I'll merge them into the newer one. It takes about an hour, then log out and back in.",
        "Perfect, thanks Nora.",
    ],
)

call(
    "account_access+billing_error",
    "en",
    [
        "StreamNest, good evening, this is Carlos.",
        "Hi Carlos. I can't log in, it says my account is suspended for non-payment. But I've been paying every month.",
        "Let me check. Can I have the email on the account?",
        "It's priya.s@example.com.",
        "Thanks. The payment on the 3rd was declined once, then went through on the same card a minute later. The system saw the first decline and suspended you anyway.",
        "So I paid and still got suspended?",
        "Exactly, and that's a billing error on our side. I've lifted the suspension and added a free week to your account for the trouble.",
        "Okay. I can see my profiles again. Thank you.",
    ],
)

call(
    "account_access",
    "en",
    [
        "Harbor Home customer service, this is Beth. How can I help you today?",
        "Hello dear. My grandson set me up on your website and now I can't remember how to get in.",
        "That's okay, we can sort it out together. Do you remember the email he used?",
        "I think it's mine. margaret.h@example.com. Or maybe his.",
        "Let me try yours... Yes, there's an account under margaret.h@example.com, Margaret Holloway.",
        "That's me. Now what's the password? I've never known it.",
        "I can't see or tell you the password, but I can send a link to your email so you can make a new one. Do you have your email open?",
        "Yes, on the computer. Hold on... Something just came in from Harbor Home.",
        "That's it. Click the blue button that says 'Reset password' and type a new password twice.",
        "Done. It says success.",
        "Wonderful. Now you can sign in with your email and the new password. Would you like me to stay on the line while you try?",
        "No, no, I'm in. I can see the lamp I ordered. Thank you so much.",
    ],
)

call(
    "account_access",
    "en",
    [
        "Lumen Electronics business support, Terrence speaking.",
        "Hi Terrence. I'm in Singapore for work and our company account got locked. I need to order replacement monitors for the office.",
        "We lock accounts automatically when there's a login from a new country. Can you confirm the company name and your employee PIN?",
        "Crestline Logistics, PIN 4471.",
        "Thank you. I've unlocked the account and added Singapore as a trusted location for the next thirty days.",
        "Great. Do I need to do anything else?",
        "Just sign in again. You might be asked for a verification code by email.",
        "Got it, thanks.",
    ],
)

call(
    "account_access",
    "en",
    [
        "Bloom Box support, you're speaking with Tess.",
        "Hi Tess, I've clicked 'forgot password' about ten times and the email never shows up.",
        "I can see the emails were sent. Could you check your spam or promotions folder? They come from no-reply@example.com.",
        "Oh, there they are. All ten of them.",
        "Use the newest one, the earlier links have expired.",
        "Got it. I'm logged in. Sorry about that.",
    ],
)

call(
    "account_access",
    "en",
    [
        "Velocity Fiber, this is Dominic, how can I help?",
        "Hi, I need to get into our internet account to change the Wi-Fi plan, but it's in my husband's name and he's away on a ship for two months.",
        "I understand. For security I can only make changes with the account holder or an authorized user. Are you listed as one?",
        "I don't think so. He set everything up.",
        "Then the easiest way is for him to add you. He can do it in the app in a minute, or reply to an email from us authorizing you.",
        "He gets email on the ship, sometimes. His address is d.kowalski@example.com.",
        "If he replies 'yes' to the message I'm sending him now, I'll add you as an authorized user and you'll get your own login.",
        "Okay, I'll message him to look out for it. Thank you.",
    ],
    split="test",
)

call(
    "account_access",
    "en",
    [
        "Orbit Mobile, Hannah speaking.",
        "Hi, I typed the wrong PIN into the app too many times and now it says I'm blocked for 24 hours. I need to pay my bill today.",
        "I can reset that after a quick check. What's the date of birth on the account?",
        "March 14th, 1988.",
        "Thanks, that matches. The block is removed and I've texted a temporary PIN to 555-0148.",
        "Got it. I'm in. Thanks, Hannah.",
    ],
)

call(
    "account_access",
    "zh",
    [
        "您好，星辰数码会员服务，请问有什么可以帮您？",
        "你好，我的账号登不上了，一直提示“密码错误”，我确定没输错。",
        "请问您的注册手机号是多少？我帮您看一下账号状态。",
        "138-0013-8000。",
        "查到了，您的账号昨晚在外地有多次异常登录尝试，系统为了安全暂时冻结了。",
        "啊？是不是被盗号了？",
        "对方没有登录成功，您的账户信息是安全的。我现在给您的手机发一个验证码，您在登录页面输入后就可以重新设置密码。",
        "输好了，现在让我设新密码。",
        "好的，建议不要和其他网站用同一个密码。设置完就可以正常登录了。",
        "登进去了，谢谢。",
    ],
)

call(
    "account_access",
    "zh",
    [
        "您好，乐享视频客服，请讲。",
        "我换了新手机，用微信登录会员账号，结果是个新账号，以前买的会员都没了。",
        "您以前是不是用手机号注册的？微信登录和手机号登录是两个不同的账号。",
        "好像是用手机号注册的。",
        "那您先退出，选择“手机号登录”，输入验证码就能看到原来的会员了。需要的话，我们也可以帮您把两个账号绑在一起。",
        "登进去了，会员还在。那帮我绑一下吧，省得下次又弄错。",
        "好的，已经绑定好了，以后用微信或者手机号登录都是同一个账号。",
    ],
)

call(
    "account_access",
    "zh",
    [
        "您好，畅联宽带，工号2046为您服务。",
        "你好，我想在网上营业厅查话费，但是它说我的身份证号和账户不匹配，登不进去。",
        "请问这个账户是您本人开户的吗？",
        "是我爱人开的，用的她的身份证。",
        "那就需要用开户人的身份信息登录。如果您想用自己的信息管理，可以让开户人去营业厅或者在网上办理授权。",
        "她现在出差了，下周才回来。",
        "开户人也可以在手机上通过人脸识别远程授权，我把操作步骤发到您手机上。",
        "好，那我转给她看看。谢谢。",
    ],
)

# ---------------------------------------------------------------------------
# cancellation
# ---------------------------------------------------------------------------

call(
    "cancellation",
    "en",
    [
        "Bloom Box, this is Jade. How can I help?",
        "Hi Jade, I'd like to cancel my flower subscription. I'm moving abroad next month.",
        "Sorry to see you go. I've cancelled it, and your last box will be the one arriving on Friday.",
        "Perfect, thanks.",
    ],
    audio=True,
)

call(
    "cancellation",
    "en",
    [
        "Velocity Fiber, you're speaking with Neil.",
        "Hi Neil, I need to cancel my internet service. I'm moving in with my partner and she already has a provider.",
        "I can do that. Your contract ends in two months, so there's no early termination fee. What day should the service stop?",
        "The thirtieth, please. And how do I return the router?",
        "We'll email you a prepaid label. Just drop it at any UPS store.",
    ],
    audio=True,
)

call(
    "cancellation+refund",
    "en",
    [
        "Maple & Oak, this is Irene speaking.",
        "Hi Irene. I placed an order this morning for a dining table and I've changed my mind. Can I cancel it?",
        "Let me check whether it's gone to the warehouse yet. What's the order number?",
        "MO-60552.",
        "It hasn't been picked, so I can cancel it. You paid a $200 deposit, and that will be refunded in full.",
        "To my card?",
        "Yes, to the Amex you used, within five business days.",
        "Great, thanks Irene.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "Thank you for calling StreamNest. I'm Rosa. What can I do for you today?",
        "Hi Rosa. I want to cancel my subscription.",
        "I can help with that. May I ask why you're leaving?",
        "Honestly, it's the price. It went up to $15.99 and I only watch one show.",
        "I understand. Before you go, I can offer the ad-supported plan at $6.99, or three months at half price on your current plan.",
        "No, thanks. I've decided. Maybe I'll come back when the next season is out.",
        "No problem. It's cancelled, and you'll keep access until the end of your billing period on the 28th.",
        "And I won't be charged again?",
        "No further charges. A confirmation email is on its way.",
        "Thank you.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "Orbit Mobile, account services, this is Frank.",
        "Hi Frank. I want to end my contract. The signal at my new flat is terrible, I have to stand by the window to make a call.",
        "I'm sorry to hear that. You have eight months left on the contract, so ending it now would normally mean an early termination fee of £160.",
        "That's not fair. You can't provide a signal and I have to pay for it?",
        "If you give me your address, I'll check our coverage map. If it's an area we list as poor coverage, the fee is waived.",
        "It's 221 Westbourne Road, flat 7.",
        "You're right, that postcode is flagged for weak indoor coverage, so I can waive the fee. Do you want to close the line today, or keep the number and move it to another network?",
        "I want to keep my number. Do I get a PAC code from you?",
        "Yes, I'll text the PAC code to your phone now. Your new provider does the rest, and your account closes when the number moves.",
        "Great, thanks for sorting it out.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "Hi, this is Gabe at FreshCrate meal kits.",
        "Hi Gabe. So, long story short, I've started working nights and nobody's home to cook anymore. I won't be needing the boxes after this week.",
        "I'm sorry to hear that. Would a pause help? You can pause for up to eight weeks and keep your discount.",
        "No, I don't think it's coming back. Just stop it.",
        "Understood. I've ended the plan after this Thursday's delivery. You won't be charged again.",
        "Perfect.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "Lumen Electronics, this is Quinn speaking.",
        "Hi Quinn, I pre-ordered the new Galaxy phone, but my work is giving me a phone now. Can I call off the pre-order?",
        "Sure. Pre-orders can be withdrawn any time before release. I just need the order number.",
        "LE-7710-552.",
        "Done. Your card was only authorized, not charged, so the hold will drop off in a few days.",
        "Great, thank you.",
    ],
    split="test",
)

call(
    "cancellation",
    "en",
    [
        "Harbor Home, good morning, Louise speaking.",
        "Good morning. I ordered a recliner ten weeks ago. It was meant to take six. Now I'm told it's another six weeks. I'm done waiting, I'd like to cancel.",
        "I'm so sorry about the wait. May I have your name and order number?",
        "Arthur Bell, HH-88207.",
        "Thank you, Mr. Bell. Because the delay is on our side, you can cancel without the usual fee, and your full payment of $899 comes back to you.",
        "Good. How long does that take?",
        "Up to seven business days. I'm sorry we couldn't deliver on time.",
        "So am I. It was a nice chair.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "Velocity Fiber, Ruth speaking. How may I help?",
        "Hi Ruth, I'd like to cancel. Money's tight and $85 a month for internet is too much right now.",
        "I understand. Before we do that, did you know we have a 100-megabit plan for $35? Would that cover what you use?",
        "I mostly do email and some video calls. Would that be enough?",
        "That's plenty for email and video calls for one or two people.",
        "Okay, let's do that instead of cancelling.",
        "Done. The new price starts on your next bill, and there's no change to your contract.",
        "Thank you, that really helps.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "StreamNest retention team, this is Brooke.",
        "I've tried to cancel on your website three times and every time it sends me to a page full of offers. I don't want offers. Close my account.",
        "I'm sorry about that. I can close it for you right now. Can I confirm the email on the account?",
        "k.jensen@example.com. And I want to know why it's so hard. I'd like to speak to someone in charge about that.",
        "Your account is closed as of today and there will be no further charges. I'll pass your feedback to my supervisor, and she can call you back tomorrow if you'd like.",
        "Yes, have her call me. 555-0171.",
        "Noted. She'll call you tomorrow between ten and two.",
        "Fine.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "Stride Club membership desk, Mina speaking.",
        "Hi Mina, please close my Stride Club membership. I don't run anymore since my knee surgery.",
        "Sorry to hear about your knee. I've closed it. Your remaining points stay valid for ninety days if you want to use them.",
        "Good to know. Thanks.",
    ],
)

call(
    "cancellation",
    "en",
    [
        "Pinecrest Grocery, this is Dev. What can I do for you?",
        "Hi Dev. My husband and I both ordered the weekly shop this morning without telling each other. Can we scrap one of them?",
        "Ha, that happens more than you'd think. I see two orders for Saturday. Which one should go?",
        "The one ending 417. His has the beer in it, so we'll keep that one.",
        "Order ending 417 is cancelled. Nothing was charged for it yet.",
        "Brilliant, thanks.",
    ],
)

call(
    "cancellation",
    "zh",
    [
        "您好，乐享视频会员服务，请问有什么可以帮您？",
        "你好，我想取消连续包月，下个月不想再扣费了。",
        "好的，方便问一下取消的原因吗？我们现在有季卡优惠，只要五十八元。",
        "不用了，最近工作忙，根本没时间看。",
        "明白了。已经帮您关闭了自动续费，当前会员可以用到本月二十号，之后不会再扣费。",
        "好的，谢谢。",
    ],
    split="test",
)

call(
    "cancellation",
    "zh",
    [
        "您好，京选家居，请问有什么可以帮您？",
        "我前天订了一个衣柜，还没发货吧？我想取消订单。",
        "请问是什么原因呢？是尺寸不合适吗？",
        "对，量了一下卧室，放不下，差了十几公分。",
        "我帮您查一下，订单还在备货中，可以直接取消。定金五百元会在三个工作日内退回原账户。",
        "那太好了。你们有没有小一点的款？",
        "有的，同系列有一米六的款，我把链接发到您手机上，您可以看看。",
        "好，我看看再说。",
    ],
)

call(
    "cancellation",
    "zh",
    [
        "您好，畅联宽带客服，工号0815。",
        "你好，我要销户。我下个月搬去深圳了，这边的宽带用不着了。",
        "好的。您的合约还有三个月到期，提前解约需要支付违约金一百元。",
        "搬家也要违约金吗？你们深圳也有业务吧，能不能转过去？",
        "深圳是我们的服务区，您可以办理异地移机，这样就不需要违约金了，合约继续有效。",
        "那行，那就移机吧，不销户了。",
        "好的，我帮您登记移机。到深圳以后拨打客服电话预约安装时间就可以了。",
    ],
)

# ---------------------------------------------------------------------------
# product_defect
# ---------------------------------------------------------------------------

call(
    "product_defect",
    "en",
    [
        "Lumen Electronics support, this is Ian.",
        "Hi Ian. My new laptop's screen has a line of dead pixels straight down the middle. I only got it on Monday.",
        "That's definitely a defect. I'll send you a replacement and a prepaid label for the faulty one.",
        "Thanks, that's quick.",
    ],
    audio=True,
)

call(
    "product_defect",
    "en",
    [
        "Stride Footwear, Zoe speaking.",
        "Hi Zoe. The sole on my left sneaker is peeling off at the toe, and I've only worn them five or six times.",
        "I'm sorry. That's covered by our six-month quality guarantee. Could you email me a photo?",
        "Sure, I'll send it now.",
        "Once I have it, I'll ship you a new pair right away.",
    ],
    audio=True,
)

call(
    "product_defect+refund",
    "en",
    [
        "Brightwave Appliances, this is Elena. How may I help?",
        "Hi Elena. My kettle started leaking from the bottom after two weeks. Water all over the counter. I don't want another one, honestly, I want my money back.",
        "I'm sorry. That could be a safety issue, so please unplug it and stop using it. Can I have the order number?",
        "BW-412209.",
        "Thanks. It's the Brightwave Pro kettle, $59.99. Given the leak, I'll process a full refund. You don't need to send it back; please just dispose of it safely.",
        "Oh, really? Okay. Good.",
        "The money will be back in your PayPal within three days.",
        "Thanks.",
    ],
)

call(
    "product_defect",
    "en",
    [
        "Orbit Mobile tech support, this is Yusuf. What seems to be the problem?",
        "Hi Yusuf. My phone gets really hot, like too hot to hold, and the battery goes from full to zero in about four hours.",
        "How long have you had it, and did it start after an update?",
        "About three months. Actually, I think it started after the update last week.",
        "That helps. Let's check one thing: go to Settings, then Battery, and tell me which app is at the top.",
        "It says 'System services', 61 percent.",
        "That points to a known bug in that update. A fix is on the way, but for now restart the phone in safe mode and clear the system cache. I'll text you the steps.",
        "And if that doesn't work?",
        "Then it may be the battery itself, and since you're under warranty we'd replace the phone. I'll call you back on Friday to see how it's going.",
        "Okay, Friday. Thanks.",
    ],
)

call(
    "product_defect",
    "en",
    [
        "Maple & Oak, this is Theo. How can I help?",
        "Hi Theo. So we put together the dining chairs you sent, and one of them... it just doesn't sit right. It rocks, and there's a creak every time you lean back.",
        "Sorry about that. Have you checked that all the bolts are tight?",
        "Twice. My husband's an engineer, believe me, they're tight. When you look underneath, there's a hairline crack where the back leg meets the seat.",
        "That sounds like a flaw in the wood. Please don't use that chair. I'll send a replacement, and our courier will collect the cracked one when they drop it off.",
        "Alright. How long will that take?",
        "About ten working days. I'll email you the date once it's booked.",
        "Okay.",
    ],
    split="test",
)

call(
    "product_defect",
    "en",
    [
        "Velocity Fiber tech support, Martin speaking.",
        "Hi Martin. My internet drops out every twenty minutes or so. It's been like this since you sent me the new router.",
        "Let me run a line test... The line to your house looks perfect, but I can see the router restarting itself several times an hour.",
        "Yeah, all the lights go off and come back.",
        "That's a hardware fault. I'll send a replacement router by express delivery.",
        "Good. I work from home, so please make it quick.",
        "It goes out today with DPD, and the driver will swap it for the faulty one at the door.",
        "Great, thanks.",
    ],
)

call(
    "product_defect",
    "en",
    [
        "Lumen Electronics, this is Abby. How can I help?",
        "Hi Abby, my headphones only play out of the left side. The right side went silent yesterday.",
        "Have you tried them with a different device, like your phone and your laptop?",
        "Yes, both. Same thing.",
        "And is it the noise-cancelling Aero Max model?",
        "Yes.",
        "Okay. It's under warranty, so I'll create a repair ticket. You'll receive a box and a label, and the repair takes about two weeks.",
        "Two weeks without headphones? Could you replace them instead?",
        "Since you bought them less than a month ago, I can do an exchange. I'll send a new pair as soon as the courier picks up yours.",
        "That's much better, thanks.",
    ],
)

call(
    "product_defect",
    "en",
    [
        "Pinecrest Market, quality line, this is Rebecca.",
        "Hi, I want to report something. I was eating one of your own-brand granola bars and bit into a little piece of hard plastic.",
        "Oh no, are you alright? Did you hurt your teeth?",
        "I'm fine, just a bit shocked. I kept the piece and the wrapper.",
        "Thank you, that's really helpful. Could you read me the batch code printed on the wrapper? It's next to the best-before date.",
        "It says L2614B, best before March.",
        "Thanks. I'm logging this with our quality team, and we'll send a courier to collect the sample. Someone from that team will call you within forty-eight hours.",
        "Okay. Should I throw away the rest of the box?",
        "Please keep them aside and don't eat them. We'll refund the whole box, and the collection pack will include a bag for them.",
        "Alright, I'll wait for the call.",
    ],
)

call(
    "product_defect",
    "en",
    [
        "Harbor Home after-sales, this is Gina.",
        "Hi Gina, the power recliner on my sofa is stuck halfway out. Pressing the button does nothing.",
        "Let's try a reset. Unplug it from the wall for one minute, plug it back in, then hold the button for five seconds.",
        "Okay... nothing. Still stuck.",
        "Then it's probably the motor. The mechanism has a five-year warranty, so I'll book a technician. The earliest slot is Wednesday morning.",
        "Wednesday's fine.",
    ],
    split="test",
)

call(
    "product_defect",
    "en",
    [
        "Stride Footwear, you're speaking with Luis.",
        "Hi Luis. I bought the Summit hiking boots because the box says 'fully waterproof'. Went for a walk in the rain yesterday and came home with soaking wet socks.",
        "That's not what should happen. Did the water come in over the top of the boot, or through the sides?",
        "Through the side, near the stitching by the toe. I stood in a puddle for like two seconds to test it and it came right through.",
        "That sounds like a seam sealing fault. I'll arrange an exchange for a new pair, or a different model if you prefer.",
        "Same model is fine, in a 10. I like how they fit.",
        "Done. A new pair of Summits in size 10 ships today, and the return label is in your email.",
        "Thanks.",
    ],
    split="test",
)

call(
    "product_defect",
    "en",
    [
        "Brightwave Appliances, my name is Hassan.",
        "Hi Hassan. My washing machine shows E21 and stops halfway through every cycle. The drum is full of water.",
        "E21 means it can't drain. First, can you check the filter at the bottom front? Sometimes a sock or a coin gets stuck there.",
        "I already did, it was clean. I even watched a video on it.",
        "Then it's most likely the drain pump. The machine is eleven months old, so it's still under warranty. I'll book a repair visit.",
        "Good. A family of five can't go long without a washing machine.",
        "I understand. The first available slot is Thursday, eight to twelve. Does that work?",
        "Yes, Thursday's fine.",
    ],
)

call(
    "product_defect",
    "en",
    [
        "Maple & Oak, good afternoon, this is Vera.",
        "Hi Vera. My standing desk only goes up on one side now. The other leg doesn't move, so the whole desk tilts.",
        "That sounds like a faulty leg motor. Is the control box showing an error?",
        "It flashes E03.",
        "That confirms it. I'll ship you a replacement leg; it's a simple swap with four bolts. It'll arrive with UPS in three to four days.",
        "Okay, thanks. I'll manage until then.",
    ],
)

call(
    "product_defect",
    "zh",
    [
        "您好，星辰数码售后服务中心，请问有什么可以帮您？",
        "你好，我上个月买的手机，最近充电特别慢，而且充着充着就发烫。",
        "请问您用的是原装充电器和数据线吗？",
        "对，都是盒子里带的。",
        "好的，那可能是手机的充电模块有问题。您的手机还在一年保修期内，可以免费检测维修。",
        "要寄回去吗？我每天都要用手机，不太方便。",
        "我们可以安排顺丰上门取件，同时给您寄一台备用机，维修期间您先用着。",
        "这个好，那就麻烦你们安排一下。",
        "好的，顺丰明天上午会联系您，请保持电话畅通。",
    ],
)

call(
    "product_defect",
    "zh",
    [
        "您好，京选家居售后，请问有什么问题？",
        "你好，我买的床垫才睡了一个月，中间就塌下去一块，睡着腰疼。",
        "非常抱歉。请问塌陷大概有多深？方便的话放一把尺子在旁边拍张照片。",
        "我量了，差不多有四厘米，照片一会儿发给你们。",
        "好的，超过三厘米就属于质量问题，我们给您换一张新的，旧的由师傅送新床垫的时候一起带走。",
        "那什么时候能换？",
        "收到照片审核通过后，三到五天内安排配送，到时候会提前给您打电话。",
        "好，谢谢。",
    ],
)

call(
    "product_defect",
    "zh",
    [
        "您好，优选生鲜客服，请问有什么可以帮您？",
        "你好，我买的那箱牛奶，打开好几盒都是结块的，闻着有点酸，日期明明还没过。",
        "非常抱歉，请您先不要喝。可能是运输过程中冷链出了问题，也可能是这一批次有质量问题。麻烦您告诉我包装上的生产批号。",
        "批号是B2610-17。",
        "好的，我已经记下来转给质检部门了。这箱牛奶给您全额退款，另外补偿您一张二十元的优惠券。",
        "行，你们也查查别的，别让其他人也喝到。",
        "您说得对，我们会把同批次的商品下架检查，谢谢您的反馈。",
    ],
)

# ---------------------------------------------------------------------------
# address_change
# ---------------------------------------------------------------------------

call(
    "address_change",
    "en",
    [
        "Swift Home Goods, this is Carmen.",
        "Hi Carmen, I just placed an order and realized it's going to my old address. Can I change it?",
        "Yes, it hasn't shipped yet. What's the new address?",
        "Forty-two Elm Street, apartment five, Springfield.",
        "Updated. Your order will go to forty-two Elm Street.",
    ],
    audio=True,
)

call(
    "address_change",
    "en",
    [
        "Velocity Fiber, this is Andre.",
        "Hi Andre. I'm moving house on the fifteenth and I want to take my internet with me.",
        "Congratulations on the move. What's the new address?",
        "Nine Harbour View, flat two.",
        "Good news, we cover that building. I've booked the transfer for the fifteenth, and a technician will come between eight and twelve.",
    ],
    audio=True,
)

call(
    "address_change",
    "en",
    [
        "Lumen Electronics, this is Simone. How can I help?",
        "Hi Simone. My order shipped yesterday to my home, but I'll be at my parents' place for the next two weeks. Can you send it there instead?",
        "Since it's already with FedEx, I can't edit the address from here, but I can request a redirect. What's the new address?",
        "1507 Birchwood Drive, Columbus, Ohio, 43215.",
        "Thank you. I've submitted the redirect. FedEx usually confirms within a day, and it might add one day to the delivery.",
        "That's fine. Will I get an email?",
        "Yes, FedEx will email you the updated tracking.",
        "Great, thanks.",
    ],
)

call(
    "address_change",
    "en",
    [
        "Orbit Mobile, you're through to Wendy.",
        "Hi Wendy. I've moved, and I need to update my address on the account, both for the bills and for the card on file.",
        "Of course. For security, can you confirm your date of birth and the last four digits of the card?",
        "July 2nd, 1979, and the card ends in 4821.",
        "Thank you. What's the new address?",
        "88 Canal Street, unit 12, Portland, Oregon 97209.",
        "Updated. Your next bill will go there, and I've changed the billing address for the card as well.",
        "Does this change my plan or anything?",
        "No, your plan stays exactly the same.",
        "Perfect.",
    ],
)

call(
    "address_change",
    "en",
    [
        "Pinecrest Grocery, good afternoon, Chloe speaking.",
        "Hi Chloe. I've got a delivery coming tomorrow, but I'm actually staying at my sister's for the week while my kitchen's being redone. Could the driver bring it to her place?",
        "Of course, as long as it's in our delivery area. What's her address?",
        "It's 14 Orchard Lane. Postcode BS6 4QT.",
        "That's in our area. The slot stays the same, ten to twelve. Should I update the contact number too?",
        "Yes, put her mobile down in case I'm out. 07700 900321.",
        "Done. The driver will ring that number if needed.",
        "Thanks, Chloe.",
    ],
    split="test",
)

call(
    "address_change",
    "en",
    [
        "Harbor Home, you're speaking with Jamal.",
        "Hi Jamal. I think I made a typo in my delivery address. I wrote 1128 Marlowe Avenue, but it should be 1182.",
        "No problem. Can I have your name so I can find the order?",
        "Sofia Marchetti.",
        "Got it, the sectional sofa. I've corrected the house number to 1182 Marlowe Avenue. Is everything else right, the city and zip?",
        "Yes, Riverside, 92501.",
        "Perfect. Delivery is still booked for next Wednesday.",
        "Thanks so much.",
    ],
)

call(
    "address_change",
    "en",
    [
        "Bloom Box, this is Oliver.",
        "Hi Oliver. I'm moving from Manchester to Leeds at the end of the month, and I'd like my subscription to follow me.",
        "Lovely. When should boxes start going to the new place?",
        "From the first of next month. The last box this month should still go to Manchester.",
        "Got it. What's the new address?",
        "Flat 9, 31 Kirkgate, Leeds, LS2 7DJ.",
        "Thanks. I've scheduled the change from the first, and you'll get an email confirming it.",
        "Great. Oh, and can you change my email too? I'm using a new one, e.hughes@example.com.",
        "Done, both are updated.",
    ],
)

call(
    "address_change+delivery_delay",
    "en",
    [
        "Stride Footwear, this is Kai, how can I help?",
        "Hi Kai. My package bounced back to you because the address was incomplete. I forgot to put the apartment number.",
        "I see it. UPS returned it to the warehouse on Tuesday marked 'insufficient address'.",
        "Right. So now I'm a week behind. Can you resend it with the right address? It's 300 Pine Street, apartment 14C.",
        "I've updated the address and I'll reship it today. Since you've lost a week, I've upgraded it to two-day shipping free of charge.",
        "Oh, thanks, that helps.",
        "You'll get a new tracking number tonight.",
    ],
)

call(
    "address_change",
    "en",
    [
        "Lumen business orders, this is Greta.",
        "Hi Greta. We're moving offices, so all our standing orders need to go to the new building from the first of next month.",
        "I can update that. What's your account number and the new address?",
        "Account 55102. The new address is 700 Commerce Park, Suite 410, Austin, Texas.",
        "Updated for all recurring orders from the first. Anything already in transit will still go to the old office.",
        "That's fine, we still have people there until the end of the month.",
    ],
)

call(
    "address_change",
    "en",
    [
        "Velocity Fiber billing, Nick speaking.",
        "Hi Nick. Your paper bills keep going to the apartment I lived in before. The new tenant keeps forwarding them to me, which is kind of embarrassing.",
        "Sorry about that. Your service address was updated, but the mailing address wasn't. What should it be?",
        "The same as the service address, 62 Grove Road.",
        "Done. Would you like to switch to paperless billing too?",
        "Yes, actually. Send them to the email on file.",
    ],
    split="test",
)

call(
    "address_change",
    "en",
    [
        "Orbit Mobile online orders, this is Leah.",
        "Hi Leah. I ordered a phone last night and it needs a signature. I'm never home during the day, so could you send it to my work instead?",
        "Sure. Let me see... it's still being packed, so we can change it. What's the work address?",
        "Harrison & Cole, 250 King Street, 3rd floor, Toronto. Reception can sign for it.",
        "I've updated it, and I've added 'reception can sign' to the delivery notes.",
        "Perfect, thanks.",
    ],
)

call(
    "address_change",
    "en",
    [
        "Pinecrest Grocery, this is Martha, how can I help?",
        "Hi Martha. I'm calling for my mother, Joan Whitaker. She gets a weekly delivery from you, and she's moving into a retirement flat next week.",
        "Of course. Is Joan with you? I'll need her permission to make changes.",
        "Yes, she's right here, I'll put her on speaker.",
        "Hello, Mrs. Whitaker. Is it alright if I change your delivery address with your son's help?",
        "Yes, that's fine, love. Robert handles all this for me.",
        "Thank you. And where will you be living from next week?",
        "It's Willow Court, flat 18, 5 Station Road. And the driver has to ring the warden's office first, the code's on the door.",
        "I've updated the address and added a note to ring the warden's office. The first delivery there will be Thursday.",
        "Lovely. Thank you, dear.",
    ],
)

call(
    "address_change",
    "zh",
    [
        "您好，易购商城客服，请问有什么可以帮您？",
        "你好，我刚下的单，收货地址填错了，填成公司的了，能改成家里的吗？",
        "可以的，订单还没出库。请告诉我新的收货地址。",
        "北京市朝阳区阜通东大街六号院三号楼一单元五零二。",
        "好的，收货人和电话需要改吗？",
        "不用，还是我本人，电话不变。",
        "已经改好了，您可以在订单详情里核对一下。",
        "看到了，没问题，谢谢。",
    ],
)

call(
    "address_change",
    "zh",
    [
        "您好，顺丰速运客服，工号3391。",
        "你好，我有个快递今天派送，但我临时出差了，家里没人，能不能转寄到我现在住的酒店？",
        "可以的，请您提供一下运单号。",
        "运单号是SF1402857731260。",
        "好的，请问酒店地址是？",
        "杭州市西湖区曙光路120号，湖畔酒店，前台代收。收件人还是我，电话138-0013-8000。",
        "已经为您办理转寄，会产生同城转寄费八元，预计明天下午送达。",
        "好的，没问题。",
    ],
)

call(
    "address_change",
    "zh",
    [
        "您好，优选生鲜会员服务中心，请问有什么需要？",
        "你好，我订了每周的蔬菜箱，下周搬家了，想把配送地址改一下。",
        "好的，请问新地址是哪里？我先确认一下在不在配送范围内。",
        "上海市浦东新区张杨路八百号，二十一楼。",
        "这个地址在我们的配送范围内。请问从哪一期开始改？",
        "从下周六那期开始吧，这周还送老地址。",
        "好的，已经设置好了，下周六起送到新地址。",
        "好，麻烦了。",
    ],
)

# ---------------------------------------------------------------------------
# complaint_escalation
# ---------------------------------------------------------------------------

call(
    "complaint_escalation",
    "en",
    [
        "Orbit Mobile, this is Jenna.",
        "Jenna, I've called four times about the same problem, and every time I'm promised a callback that never comes. I want a supervisor.",
        "I'm sorry. I'll transfer you to my supervisor now, and I've noted all four calls on your account.",
        "Thank you.",
    ],
    audio=True,
)

call(
    "complaint_escalation",
    "en",
    [
        "Harbor Home customer care, this is Derek.",
        "I want to file a formal complaint. Your delivery men scratched my wooden floor and left without saying a word.",
        "I'm very sorry. I'm opening a formal complaint now, and our claims team will contact you within two days.",
        "Two days. Fine. I have photos.",
        "Please email them to claims@example.com with your order number.",
    ],
    audio=True,
)

call(
    "complaint_escalation+product_defect",
    "en",
    [
        "Lumen Electronics, this is Harper.",
        "I'm calling for the third time about my TV. It's been repaired twice and the screen is flickering again. I want to talk to a manager. Now.",
        "I understand how frustrating this is. Can I have your name so I can see the history?",
        "Brian Castellano. Everything should be on file.",
        "I see both repair tickets, the last one closed three weeks ago. You're right, this shouldn't be happening a third time.",
        "I don't want a third repair. I want a new TV or my money back, and I want someone with authority to say yes.",
        "I'm transferring you to our customer relations manager, Dominique. I've written up a summary so you won't have to explain it all again.",
        "Finally.",
    ],
)

call(
    "complaint_escalation",
    "en",
    [
        "Thank you for calling Stride Footwear, this is Lily.",
        "Hi. I'd like to complain about one of your stores. I went to the Riverside Mall branch yesterday to return some sandals and the manager there was incredibly rude to me.",
        "I'm sorry to hear that. Can you tell me what happened?",
        "He said I'd clearly worn them, which I hadn't, and then he laughed and told me to 'try again online'. In front of a whole queue of people.",
        "That's not how we want anyone treated. Did you get his name?",
        "His badge said Curtis. I want this escalated, not just noted down somewhere.",
        "I'll escalate it to the regional manager who oversees that store. I'll also process your return over the phone, so you don't have to go back.",
        "I want someone to actually call me, not just send an email.",
        "Of course. The regional manager, Ms. Okafor, will call you by Thursday. What's the best number?",
        "555-0193. After five is best.",
        "Noted: 555-0193, after five. And the return for the sandals is being processed now.",
        "Okay. Thank you for listening, at least.",
    ],
)

call(
    "complaint_escalation",
    "en",
    [
        "Velocity Fiber, this is Gary, how can I help?",
        "Gary, I'm not going to shout, but I need this to go above you. I've been without internet for nine days, and every person tells me something different.",
        "I'm sorry. Let me look at the account... I can see three technician visits and an open ticket for a line fault.",
        "Exactly. And nobody will give me a date. I work from home. I've been working from a coffee shop.",
        "I'm raising this with our escalations team as a priority case. They can authorize a street-level repair, which I can't.",
        "When will I hear from them?",
        "Within twenty-four hours. I'm also crediting the nine days to your account. Your case number is ESC-40127.",
        "Okay. ESC-40127. Thanks.",
    ],
    split="test",
)

call(
    "complaint_escalation",
    "en",
    [
        "Pinecrest Grocery, Tanya speaking.",
        "Yes, hi. Your driver left my shopping at the bottom of the drive in the pouring rain and drove off. I'm in a wheelchair. I specifically asked for it to be brought to the door.",
        "I'm so sorry. That's completely unacceptable. I can see the note on your account asking for doorstep delivery.",
        "I had to wait two hours for my neighbor to come home and bring it in. The bread is ruined. I want to speak to a manager about this driver.",
        "I'm getting the shift manager for you now. While I do, I've refunded the whole order and flagged your account so only drivers who follow the note are assigned to you.",
        "Thank you. Put the manager on.",
    ],
)

call(
    "complaint_escalation",
    "en",
    [
        "StreamNest customer relations, this is Ahmed.",
        "I've been fighting with you people for a month over a charge. If this isn't sorted today, I'm going to my bank, the consumer ombudsman, and I'm posting the whole story online.",
        "I hear you, and I want to get it sorted today. Do you have the case number from your previous calls?",
        "I was given three different ones. The latest is 77-2019.",
        "Thanks. I see the case. It's been passed between teams without an owner, and that's our failure.",
        "So who owns it now?",
        "I do. I'm a senior agent in customer relations. I'll resolve it and call you back by five o'clock today with the outcome.",
        "By five. If I don't hear from you, I go to the ombudsman.",
        "Understood. You'll hear from me before five.",
    ],
)

call(
    "complaint_escalation",
    "en",
    [
        "Orbit Mobile, this is Nate. How can I help today?",
        "I need to make a serious complaint. Someone at your company gave my ex-partner a copy of my call records. He isn't even on my account.",
        "That's very serious, and I'm sorry. I'm escalating this to our privacy team immediately. Can you confirm your full name and number?",
        "Emma Doyle. 555-0126.",
        "Thank you, Ms. Doyle. I've opened a privacy incident. A privacy officer will contact you within one business day and investigate who accessed your account.",
        "I want to know exactly what he was given.",
        "That's part of the investigation, and you're entitled to a full report. I've also added a security password to your account, so no one can get information or make changes without it.",
        "Okay. Thank you.",
    ],
)

call(
    "complaint_escalation",
    "en",
    [
        "Maple & Oak, this is Claire, I'm the team supervisor. I understand you asked for me?",
        "Yes. Your colleague told me I can't return a bed frame because I assembled it. Nowhere on your website does it say that.",
        "Let me check the wording... You're right, the returns page doesn't mention assembly. It's only in the terms and conditions.",
        "So, hidden in the small print.",
        "I'll be honest, that's not clear enough, and I'll take it to our policy team. For your order, I'll accept the return. We'll collect it assembled or flat, whichever is easier.",
        "I'll leave it assembled, then. Thank you for actually listening.",
    ],
)

call(
    "complaint_escalation",
    "en",
    [
        "Velocity Fiber, this is Sienna.",
        "Hi. I've asked three times to stop getting sales calls from you. I got two more this week, one at eight in the evening. I want this escalated.",
        "I'm sorry. I can see the opt-out requests on your account, but it looks like they weren't passed to our outbound partner.",
        "That's not my problem. I want it to stop and I want a formal complaint logged.",
        "I've logged a formal complaint, reference C-55810, and removed your number from every marketing list, including our partner's. It can take up to forty-eight hours to apply everywhere.",
        "If I get one more call after that...",
        "Then call us with that reference and it'll go straight to our compliance team.",
        "Fine.",
    ],
)

call(
    "complaint_escalation",
    "en",
    [
        "Bloom Box, this is Fern, how can I help?",
        "Hello. Last Monday someone called Josh told me he'd ring me back the next day about my missing box. I'm still waiting.",
        "I'm sorry about that. Let me check the notes... I see Josh's note, but the callback was never scheduled in our system.",
        "This is the kind of thing that makes me want to leave. I'd like to know someone is held responsible.",
        "I've reported it to our team lead so it's taken up with Josh. And I'll sort out the missing box myself now: a replacement goes out tomorrow with tracking.",
        "Fine. Thank you.",
    ],
    split="test",
)

call(
    "complaint_escalation",
    "en",
    [
        "Brightwave Appliances, my name's Leon, how can I help?",
        "You can put me through to your CEO, that's how. Your engineer came to fix my fridge, broke the ice maker, and now your company says it's not covered.",
        "I'm sorry. I can't transfer you to the CEO, but I can escalate this to our complaints department, who can override the warranty decision.",
        "Everybody always says they can't.",
        "I understand. I've read the engineer's report, and it says the ice maker was working before the visit. That helps your case a lot, so I'm marking this as damage caused during repair.",
        "So what does that mean for me?",
        "It means our complaints team arranges the repair at no cost. They'll call you tomorrow before noon to book it.",
        "Tomorrow before noon. Alright.",
    ],
)

call(
    "complaint_escalation",
    "zh",
    [
        "您好，易购商城客服，请问有什么可以帮您？",
        "我要投诉！这个问题我已经打了五次电话了，每次都说会有人回电，结果一个都没有。",
        "非常抱歉给您添了这么多麻烦。请问是什么问题呢？",
        "我买的空调，安装师傅把墙打坏了，到现在没人管。我要找你们主管，不想再跟客服说了。",
        "明白，我马上帮您升级到投诉处理专员，并把之前五次的记录都附上，您不用再重复说明。",
        "什么时候能有结果？",
        "专员会在今天下午六点前给您回电话，投诉单号是TS2026110587。",
        "好，我等着。要是今天还没人打电话，我就去消费者协会投诉。",
    ],
    split="test",
)

call(
    "complaint_escalation",
    "zh",
    [
        "您好，畅联宽带，工号0921。",
        "我要投诉你们的装维师傅。约好上午九点上门，我请了假在家等，结果他十二点才来，来了态度还特别差。",
        "非常抱歉。请问您还记得师傅的姓名或者工号吗？",
        "他说他姓刘，工号我没看到。走的时候网线还乱七八糟地拖在地上。",
        "好的，我已经记录下来了，会转给装维主管核实处理。另外我们会安排另一位师傅上门重新整理线路。",
        "我希望你们主管能亲自给我打个电话，给我一个说法。",
        "好的，已经备注要求主管回电，他会在明天中午之前联系您。",
        "行。",
    ],
)

call(
    "complaint_escalation",
    "zh",
    [
        "您好，星辰数码客服中心，请问有什么可以帮您？",
        "你好，我要反映一个问题。你们门店的店员跟我说这款手机防水，结果我洗手的时候溅了点水就坏了，售后说进水不保修。",
        "非常抱歉。请问是在哪个门店买的？",
        "南京新街口那家店，收据上有店员的名字。",
        "好的，如果店员在销售时给了错误的说明，这是我们的责任。我会把您的情况升级给区域经理处理。",
        "我不想再听“升级”了，之前也升级过，一点动静都没有。",
        "理解您的心情。这次我亲自跟进，区域经理二十四小时内给您回电，同时我已经申请暂缓收取您的维修费用。",
        "那我等电话。要是再没人管，我就在网上发帖。",
    ],
)


# ---------------------------------------------------------------------------
# bookkeeping
# ---------------------------------------------------------------------------

START = dt.date(2026, 9, 1)
END = dt.date(2026, 11, 15)
SEED = 20260901


def validate(calls: list[dict]) -> None:
    assert len(calls) == 120, len(calls)
    primary = Counter(c["labels"][0] for c in calls)
    assert set(primary) == set(LABELS) and all(v == 15 for v in primary.values()), primary
    for c in calls:
        assert all(lab in LABELS for lab in c["labels"]), c["labels"]
        assert len(set(c["labels"])) == len(c["labels"])
        assert c["language"] in ("en", "zh")
        assert c["split"] in ("train", "test")
        assert 4 <= len(c["turns"]) <= 12, c["turns"][0]
        assert all(isinstance(t, str) and t.strip() for t in c["turns"])
        if c["audio"]:
            assert c["language"] == "en" and len(c["turns"]) <= 6, c["turns"][0]
    texts = [t for c in calls for t in c["turns"]]
    dup = [t for t, n in Counter(texts).items() if n > 1 and len(t) > 30]
    assert not dup, dup


def build() -> list[dict]:
    validate(CALLS)
    rng = random.Random(SEED)
    order = list(range(len(CALLS)))
    rng.shuffle(order)
    span = (END - START).days
    days = sorted(rng.randint(0, span) for _ in CALLS)
    days[0], days[-1] = 0, span  # cover the whole range
    rows = []
    for n, (idx, day) in enumerate(zip(order, days), start=1):
        c = CALLS[idx]
        cid = f"demo-{n:03d}"
        row = {
            "id": cid,
            "language": c["language"],
            "labels": c["labels"],
            "date": (START + dt.timedelta(days=day)).isoformat(),
            "split": c["split"],
            "turns": [
                {"speaker": "agent" if i % 2 == 0 else "customer", "text": t}
                for i, t in enumerate(c["turns"])
            ],
        }
        if c["audio"]:
            row["audio"] = f"audio/{cid}.mp3"
        rows.append(row)
    return rows


def main() -> int:
    rows = build()
    with OUT.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    primary = Counter(r["labels"][0] for r in rows)
    print(f"wrote {len(rows)} calls to {OUT}")
    print("primary labels:", dict(sorted(primary.items())))
    print("languages:", dict(Counter(r["language"] for r in rows)))
    print("splits:", dict(Counter(r["split"] for r in rows)))
    print("multi-label:", sum(len(r["labels"]) > 1 for r in rows))
    print("audio:", sum("audio" in r for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
