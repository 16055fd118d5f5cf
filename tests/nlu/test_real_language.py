"""Issue 15: real children's Chinese. Normalisation (traditional forms, pinyin initials,
English, emoji), the crisis concepts from the field (companions, means, appraisal, rehearsal
and impulse, farewell to the help line), the fraud scripts, and the false alarms of the rules
on real text. Each case runs through the rules and through the whole pipeline (with a
backend that always says "general", so only the rules and the decision logic can find it)."""

from __future__ import annotations

import pytest

from nlu.labels import GENERAL, LABELS
from nlu.normalize import model_text, normalize
from nlu.pipeline import Pipeline, sentences
from tests.nlu.conftest import FixedBackend, rules_on

# -- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("活著沒意思", "活着没意思"),
        ("睡不著", "睡不着"),
        ("妳們", "你们"),
        ("甚麼都不想做", "什么都不想做"),
        ("顯著的著名著作", "显著的著名著作"),  # 著 of 著名 and 著作 stays
    ],
)
def test_traditional_forms_opencc_leaves_alone_are_simplified(text, expected):
    assert normalize(text) == expected
    assert len(normalize(text)) == len(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wbxhl", "我不想活了"),
        ("好累 bxhl", "好累 不想活了"),
        ("我想qj", "我想轻生"),
        ("被qj了", "被强奸了"),
        ("I want to die", "我想死"),
        ("i wanna die lol", "我想死 lol"),
        ("kms", "想自杀"),
        ("thinking about suicide", "thinking about 自杀"),
        ("Suicide Squad好看", "自杀小队好看"),
        ("💊💊💊", "药药药"),
    ],
)
def test_model_text_writes_out_abbreviations_english_and_emoji(text, expected):
    assert model_text(text) == expected


def test_model_text_leaves_ordinary_latin_alone():
    assert model_text("qq号是多少 kfc yyds") == "qq号是多少 kfc yyds"
    assert model_text("zisha") == "自杀"  # pinyin spelt out
    assert model_text("wxs") == "我想死"


CRISIS_BY_NORMALISATION = [
    "活著沒意思",
    "我真的不想活著了",
    "妳們不用管我了，我甚麼都不想要了，不想活了",
    "wbxhl",
    "好累啊 wxs",
    "我想qj",
    "i want to die",
    "kms",
    "I don't want to live anymore",
    "💊💊💊🪦",
    "🔪🩸",
]


@pytest.mark.parametrize("text", CRISIS_BY_NORMALISATION)
def test_normalised_forms_reach_the_crisis_rules(book, text):
    assert "crisis" in rules_on(book, text).labels


@pytest.mark.parametrize("text", CRISIS_BY_NORMALISATION)
def test_normalised_forms_reach_crisis_through_the_pipeline(quiet_pipeline, text):
    analysis = quiet_pipeline.analyze(text)
    assert "crisis" in analysis.labels
    assert analysis.urgency in ("high", "emergency")


def test_an_emoji_that_only_cries_is_not_a_crisis(quiet_pipeline):
    analysis = quiet_pipeline.analyze("😭😭😭")
    assert analysis.labels == [GENERAL]


def test_the_classifier_reads_the_written_out_text(nlu_paths):
    backend = FixedBackend()
    Pipeline(backend, nlu_paths, thresholds={}).analyze("kms")
    assert backend.calls == [["想自杀"]]


# -- crisis concepts from the field ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("有没有人约死，坐标杭州", "companion"),
        ("想找个人一起烧炭", "companion"),
        ("组团自杀有人吗", "companion"),
        ("我们一起去跳海吧", "companion"),
        ("哪里能买到大量安眠药", "means"),
        ("没有处方怎么买安眠药", "means"),
        ("附近哪栋楼最高", "means"),
        ("天台门能打开吗", "means"),
        ("烧炭是最不痛的死法", "appraisal"),
        ("上吊应该挺快的吧", "appraisal"),
        ("好羡慕那些已经解脱的人", "appraisal"),
        ("每次站在窗边就想跳下去", "rehearsal"),
        ("看着楼下就想跳", "rehearsal"),
        ("总有一种往下跳的冲动", "rehearsal"),
        ("昨晚把腿伸出了窗外", "rehearsal"),
        ("我试过用围巾勒自己", "rehearsal"),
        ("在天台坐了好久", "rehearsal"),
    ],
)
def test_field_concepts_fire(book, text, concept):
    result = rules_on(book, text)
    assert concept in result.concepts, result.rules
    assert "crisis" in result.labels


@pytest.mark.parametrize(
    "text",
    [
        "我去跳海算了",
        "干脆烧炭吧",
        "上吊一了百了",
        "唔想生存",
    ],
)
def test_a_method_as_ones_own_way_out_is_ideation(book, text):
    assert "crisis" in rules_on(book, text).labels


@pytest.mark.parametrize(
    "text",
    [
        "謝謝妳們一直以來的回覆，以後不會再打擾了",
        "感谢树洞这段时间的陪伴，这是我最后一次来了",
        "谢谢你们之前的开导，下辈子再报答",
    ],
)
def test_a_farewell_thanking_the_help_line_is_an_emergency(book, quiet_pipeline, text):
    result = rules_on(book, text)
    assert {"thanks_helpers", "farewell"} <= result.concepts
    assert result.urgency == "emergency"
    analysis = quiet_pipeline.analyze(text)
    assert analysis.labels == ["crisis"]
    assert analysis.urgency == "emergency"


def test_thanks_alone_are_not_a_crisis(book):
    assert not rules_on(book, "谢谢你们一直以来的回复，我现在好多了").labels


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("约死的人呢，今晚就去", "emergency"),
        ("哪里能买安眠药，今晚就吃", "emergency"),
        ("我现在站在窗边就想跳下去", "emergency"),
    ],
)
def test_field_concepts_with_imminence_are_emergencies(book, text, urgency):
    assert rules_on(book, text).urgency == urgency


def test_a_long_post_where_one_sentence_carries_the_risk(book):
    post = (
        "今天去图书馆借了三本书，回来的路上下雨了，鞋子全湿了。晚饭吃的是食堂的面，"
        "味道一般。室友一直在打游戏，吵得我没法看书。其实我每次站在宿舍阳台上都想跳下去。"
        "明天还有早课，先睡了。"
    )
    assert "crisis" in rules_on(book, post).labels


# -- false alarms of the rules on real text ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "他那种死猪不怕开水烫的态度真让人生气",  # abuse.cue:开水烫, an idiom
        "用人单位不得侵犯劳动者的合法权益，应依法支付加班费",  # sexual_abuse.cue:侵犯
        "侵犯他人隐私和肖像权是违法的",
        "今天发生了一件奇怪的事，我的猫自己开了门",  # sexual_abuse.cue:奇怪的事
        "好想吃很多很多好吃的",  # crisis.wish:想吃很多
        "楼下那辆车又堵住了出口，马上就要上班了，物业也不管",  # crisis.time:马上
        "现在的年轻人压力太大了，动不动就说想死",  # crisis.now:现在 (nowadays)
        "强奸犯就该判死刑",  # talk about a harm (a topic word, not a case)
        "家暴男都该被抓起来",
        "我在闲鱼也被骗过，大家小心",
        "如果一个女的拿着刀砍你你打不打",  # danger.now:拿着刀 in a debate
    ],
)
def test_ordinary_text_raises_no_label_by_rules(book, text):
    result = rules_on(book, text)
    assert not result.labels, result.rules
    assert result.urgency != "emergency"


def test_a_wish_to_die_and_an_unrelated_time_in_another_sentence_is_not_an_emergency(book):
    result = rules_on(book, "想死。马上就要去考试了")
    assert "crisis" in result.labels
    assert result.urgency != "emergency"
    assert rules_on(book, "不想活了，今晚就吃安眠药").urgency == "emergency"


def test_a_scammer_out_of_reach_is_not_a_child_out_of_reach(book):
    text = "被骗了3000块，对方已经联系不上了，气得想死"
    result = rules_on(book, text)
    assert "fraud" in result.labels
    assert "unreachable" not in result.concepts
    assert result.urgency != "emergency"
    # a child out of reach after a farewell is still an emergency
    assert rules_on(book, "他发了遗书，现在联系不上").urgency == "emergency"


# -- fraud scripts -----------------------------------------------------------------------------


FRAUD_SCRIPTS = [
    "客服：您好，您的订单任务失败，需要充值998元才能解冻提现",
    "兼职刷单，做任务返佣金，先垫付100元，做完连本带利返还",
    "我是你班主任，换了新号，先帮我转3000，晚点还你",
    "老同学，我是小王，这是我的新微信，能不能借点钱应急",
    "游戏账号交易失败，需要交保证金才能解冻",
    "免费领皮肤，扫码进群就送",
    "京东客服说要给我退款，让我开屏幕共享看一下借呗",
    "【京东金融】您的校园贷账户未注销将影响征信，请点击 http://jd-x.cn 处理",
    "警官说我的银行卡涉嫌洗钱，要我签保密协议",
    "裸聊被录了，对方说不给钱就发给我通讯录里所有人",
    "有个中介说交三万好处费能走关系保送",
    "后援会说要集资给爱豆应援，转账后管理员把我拉黑了",
    "下面是聊天记录，这是不是诈骗？",
]


@pytest.mark.parametrize("text", FRAUD_SCRIPTS)
def test_fraud_scripts_are_fraud_by_rules(book, text):
    assert "fraud" in rules_on(book, text).labels


@pytest.mark.parametrize("text", FRAUD_SCRIPTS)
def test_fraud_scripts_are_fraud_through_the_pipeline(quiet_pipeline, text):
    assert "fraud" in quiet_pipeline.analyze(text).labels


def test_a_parents_report_of_extortion_with_photos_is_a_case(quiet_pipeline):
    analysis = quiet_pipeline.analyze("有人威胁我女儿，说不给5000就把她的照片发到学校群里")
    assert "fraud" in analysis.labels
    assert analysis.urgency in ("high", "emergency")


# -- long messages, sentence by sentence --------------------------------------------------------


def test_sentences_of_a_long_message():
    parts = sentences("今天很累。真的好累！明天还要上学？不想去了\n哈哈", 12)
    assert parts == ["今天很累。真的好累！", "明天还要上学？", "不想去了\n哈哈"]
    assert sentences("短。短。这是一个比较长的句子。", 12) == ["短。短。这是一个比较长的句子。"]
    assert len(sentences("。".join(["这是第几个句子"] * 30), 12)) == 12


class SentenceBackend:
    """General everywhere, except a confident crisis reading of one short sentence."""

    name = "sentence"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        out = []
        for text in texts:
            crisis = self.marker in text and len(text) < 40
            scores = {lb: 0.0 for lb in LABELS}
            scores["crisis" if crisis else GENERAL] = 0.9
            scores["urgency:high" if crisis else "urgency:low"] = 0.9
            out.append(scores)
        return out


def test_a_long_message_is_also_scored_sentence_by_sentence(nlu_paths):
    marker = "柜子里的安眠药还在"  # a method: a crisis concept of low weight, no label alone
    pipeline = Pipeline(SentenceBackend(marker), nlu_paths, thresholds={})
    post = (
        "今天去图书馆借了三本书，回来的路上下雨了。晚饭吃的是食堂的面，味道一般。"
        f"室友一直在打游戏。{marker}，我看了很久。明天还有早课，先睡了。"
    )
    assert "crisis" in pipeline.analyze(post).labels
    # a long message without it stays general
    assert pipeline.analyze(post.replace(marker, "星星很多")).labels == [GENERAL]


def test_a_crisis_found_in_one_sentence_keeps_that_sentences_urgency(nlu_paths):
    """The whole post reads as low (everyday news around it): the crisis one sentence adds
    must not sit in the queue at low, below the same sentence sent on its own."""
    marker = "柜子里的安眠药还在"
    pipeline = Pipeline(SentenceBackend(marker), nlu_paths, thresholds={})
    post = (
        "今天去图书馆借了三本书，回来的路上下雨了。晚饭吃的是食堂的面，味道一般。"
        f"室友一直在打游戏。{marker}，我看了很久。明天还有早课，先睡了。"
    )
    alone = pipeline.analyze(f"{marker}。")
    assert alone.labels == ["crisis"] and alone.urgency == "high"
    analysis = pipeline.analyze(post)
    assert "crisis" in analysis.labels
    assert analysis.urgency == alone.urgency


def test_a_sentence_without_a_crisis_concept_does_not_add_crisis(nlu_paths):
    """Everyday sadness in one sentence of a long post scores crisis on its own far more
    often than the whole post: the classifier alone does not add crisis from a sentence."""
    marker = "天空好远"
    pipeline = Pipeline(SentenceBackend(marker), nlu_paths, thresholds={})
    post = (
        "今天去图书馆借了三本书，回来的路上下雨了。晚饭吃的是食堂的面，味道一般。"
        f"室友一直在打游戏。{marker}，我也好远。明天还有早课，先睡了。"
    )
    assert pipeline.analyze(post).labels == [GENERAL]
    assert pipeline.analyze(f"{marker}。").labels == ["crisis"]  # a short message: as before


@pytest.mark.parametrize("text", ["他在打我", "救命 他在打我", "有人在踢我 快来"])
def test_an_attack_under_way_is_an_emergency_through_the_pipeline(quiet_pipeline, text):
    # a classifier that reads these as general must not leave the child at low urgency
    analysis = quiet_pipeline.analyze(text)
    assert analysis.urgency == "emergency"
    assert "danger" in analysis.labels
