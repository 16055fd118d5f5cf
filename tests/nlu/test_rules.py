"""Every rule family of the safety net: crisis concepts and risk levels, negation,
hyperbole, impersonal context, the harm phrase rules."""

import pytest

from tests.nlu.conftest import rules_on


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("我真的不想活了", "wish"),
        ("最近老想紫砂", "wish"),
        ("zs算了", "wish"),
        ("活着没意思", "wish"),
        ("想消失", "wish"),
        ("我查过安眠药", "method"),
        ("我今晚想了很多", "time"),
        ("我已经站在天台上了", "place"),
        ("我把遗书放在抽屉里", "farewell"),
        ("我好绝望", "hopelessness"),
        ("我真的撑不下去了", "passive"),
        ("睡着了就不要醒", "passive"),
        ("我就是个累赘", "burden"),
        ("上次吃药没死成", "past_attempt"),
        ("我又开始自残了", "self_harm"),
        ("我已经吃了一整瓶安眠药", "attempt_now"),
        ("等中考完就", "plan"),
    ],
)
def test_each_crisis_concept_fires_with_its_rule_id(book, text, concept):
    result = rules_on(book, text)
    assert concept in result.concepts
    assert any(r.startswith(f"crisis.{concept}:") for r in result.rules)


def test_ideation_alone_is_crisis_high(book):
    result = rules_on(book, "我好想死")
    assert result.labels == {"crisis"}
    assert result.urgency == "high"
    assert 4 <= result.risk_level < 8
    assert "crisis.wish:好想死" in result.rules


@pytest.mark.parametrize(
    "text", ["我不想活了，今晚就吃安眠药", "已经吃了一瓶安眠药", "我现在就在楼顶，不想活了"]
)
def test_ideation_with_means_and_time_escalates_to_emergency(book, text):
    result = rules_on(book, text)
    assert "crisis" in result.labels
    assert result.urgency == "emergency"
    assert result.risk_level >= 8


def test_method_alone_does_not_label(book):
    result = rules_on(book, "跳楼机好刺激")
    assert "crisis" not in result.labels
    assert result.risk_level < 4


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("我没想自杀，只是有点累", "negation:我没想"),
        ("我从来没有想过要自杀", "negation:从来没有想"),
        ("我不想死，我想好好活着", "negation:不想死"),
    ],
)
def test_negation_cancels_ideation_and_is_reported(book, text, rule):
    result = rules_on(book, text)
    assert "crisis" not in result.labels
    assert rule in result.rules
    assert result.negated


def test_negation_needs_to_be_close(book):
    # The first 不想 belongs to 去学校; 不想活 is ideation.
    result = rules_on(book, "我不想去学校也不想活了")
    assert "crisis" in result.labels


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("今天累死了", "hyperbole:累死了"),
        ("笑死我了哈哈哈", "hyperbole:笑死我了"),
        ("这题要我命", "hyperbole:这题要我命"),
        ("想死你了宝贝", "hyperbole:想死你了"),
        ("热得想死", "hyperbole:热得想死"),
    ],
)
def test_hyperbole_does_not_trigger(book, text, rule):
    result = rules_on(book, text)
    assert rule in result.rules
    assert not result.labels
    assert result.risk_level == 0


def test_impersonal_context_reports_but_does_not_label(book):
    result = rules_on(book, "心理课上老师讲了怎么预防自杀")
    assert result.context
    assert "crisis" not in result.labels
    assert any(r.startswith("context:") for r in result.rules)


@pytest.mark.parametrize(
    ("text", "label", "urgency"),
    [
        ("他摸我还不让我告诉妈妈", "sexual_abuse", "high"),
        ("网上的人让我拍裸照", "sexual_abuse", "high"),
        ("我爸又用皮带打我", "abuse", "high"),
        ("有个人拿着刀在校门口", "danger", "emergency"),
        ("我女儿放学到现在还没回来，电话打不通", "danger", "emergency"),
        ("客服让我开屏幕共享", "fraud", "emergency"),
        ("爸妈出去打工不管我，我一个人在家好几天了", "neglect", "high"),
        # the narrowed forms still fire on the harm they are for
        ("我妈不停地打我", "abuse", "high"),
        ("有个男的一直跟着我到小区门口", "danger", "high"),
        ("我女儿九点了还没回家 电话也不接", "danger", "emergency"),
        ("他们天天给我起外号", "bullying", "medium"),
        # an attack under way is an emergency before anyone knows who the attacker is
        ("他在打我", "danger", "emergency"),
        ("救命 有人在踢我", "danger", "emergency"),
    ],
)
def test_harm_phrase_rules_raise_label_and_urgency(book, text, label, urgency):
    result = rules_on(book, text)
    assert label in result.labels
    assert result.urgency == urgency
    assert any(r.startswith(f"{label}.") for r in result.rules)


@pytest.mark.parametrize(
    "text", ["他在打我的主意", "他在打我电话", "他不在打我了", "他在打我们班的篮球赛"]
)
def test_hitting_look_alikes_are_not_an_attack(book, text):
    assert "danger" not in rules_on(book, text).labels


def test_emergency_cue_alone_is_not_a_case(book):
    result = rules_on(book, "救命！这道题好难")
    assert not result.labels
    assert result.urgency_if_harm == "emergency"


def test_a_conjunction_ends_the_reach_of_a_negation(book):
    # "不想回家" does not negate the "不想活" after 也.
    result = rules_on(book, "跑出来两天了 不想回家也不想活了")
    assert "crisis" in result.labels
    assert not result.negated
    assert "negation:我没想" in rules_on(book, "我没想过要自杀").rules


def test_others_telling_the_child_to_die_is_an_insult_not_ideation(book):
    assert "crisis" not in rules_on(book, "他们都叫我去死").labels
    # Third-person ideation is not explained away as an insult.
    assert "crisis" in rules_on(book, "前桌说她想去死").labels


@pytest.mark.parametrize(
    "text",
    [
        "老师让写一篇关于校园欺凌的议论文 有啥好的论据吗",
        "家长群里提醒大家 最近有人冒充老师收资料费",
        "校园贷是什么 政治老师提了一嘴",
        "作业多到想跳楼哈哈哈",
        # Harm words in ordinary life (forms narrowed against independent authors' lines)
        "跳楼机坐了两次 腿都软了",
        "假期最后一天了 明天就开学",
        "体育课被球砸到鼻子 流了好多血 吓我一跳",
        "奶奶天天逼我吃三碗饭",
        "回家他们没骂我 只是让我下次早点说",
        "每天吃完饭被我妈赶出门去遛狗",
        "作文被老师打回来重写",
        "这两天家里没人 都去喝喜酒了",
        "老爸赌球输给我了 罚做一百个俯卧撑",
        "在商场跟我妈走散了 后来广播一喊她就来了",
        "我爸妈不会打我 就是会失望",
        "小区里的流浪猫一直跟着我到楼下",
        "外孙跟着我们老两口住 功课辅导不了",
        "切菜的时候不小心被刀划到手指",
        "真想消失一个周末 谁也别来找我",
        "儿子八点多还没回家 电话也不接 后来他自己到家了",
        "我们宿舍几个人互相起外号 天天乐呵呵的",
        "学校在招反欺凌志愿者 我报名了",
        "看了个诈骗纪录片 提醒爸妈陌生电话别接",
        "孩子在商场走丢了该怎么教他找警察",
    ],
)
def test_lessons_warnings_and_jokes_raise_no_rule_label(book, text):
    assert rules_on(book, text).labels == set()


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("这趟车坐太久了 我想下车了", "passive"),
        ("能不能把我删掉 重新来过", "passive"),
        ("人没了以后 微信还会收到消息吗", "passive"),
        ("早上睁眼第一件事就是想 为什么还醒了", "passive"),
        ("谢谢这个世界 给了我十五年", "farewell"),
        ("一考砸就拔自己头发", "self_harm"),
        ("昨晚又烫了自己", "self_harm"),
        ("我把自己的胳膊掐破了", "self_harm"),
        ("一难受就拿头撞墙", "self_harm"),
        ("作业写完了 其实我不太想活了", "wish"),
        ("被他们骂了一整年 真想一死了之", "wish"),
        ("他说他每天都在想着死", "wish"),
        ("作文最后一句是 我不打算活到那时候", "wish"),
        ("今天布洛芬吃了三十多片", "attempt_now"),
        ("我割了好几个月了 停不下来", "self_harm"),
        ("用尺子刮自己的胳膊 刮到出血", "self_harm"),
        ("快递里有炭和胶带 她说是做手工", "method"),
    ],
)
def test_crisis_said_quietly_is_recognised(book, text, concept):
    assert concept in rules_on(book, text).concepts


@pytest.mark.parametrize(
    "text",
    [
        "坐过站了 赶紧下车了",
        "帮我妈拔白头发 一根五毛",
        "客人走了以后我收拾了半天",
        "不小心头撞到桌子了 好疼",
        # eating a lot is not an overdose (this was an emergency, risk 10, before)
        "今天吃了好多好吃的",
        "过年吃了很多饺子 撑死",
        "笑不活了家人们",
        "手指被纸划了一道口子",
        "膝盖擦破皮了 没事",
        "四年就结束了 舍不得室友",
        "这周只想躺着 谁也别找我",
        "我姥爷拿针扎我手指 扎得出血",
        "图钉扎到了 出血了",
    ],
)
def test_quiet_crisis_forms_leave_everyday_look_alikes_alone(book, text):
    assert "crisis" not in rules_on(book, text).labels


@pytest.mark.parametrize(
    "text",
    [
        "班上一个男生把球鞋和游戏机都送给了同学 今天没来上学 电话打不通",
        "她昨晚发了一句不想活了 现在手机一直关机",
        "弟弟留了一张纸条说不要找我 到现在联系不上",
    ],
)
def test_a_farewell_or_wish_then_out_of_reach_is_an_emergency(book, text):
    result = rules_on(book, text)
    assert "unreachable" in result.concepts
    assert "crisis" in result.labels
    assert result.urgency == "emergency"


def test_out_of_reach_alone_is_not_a_crisis(book):
    result = rules_on(book, "儿子今天没去上学 电话也打不通")
    assert "crisis" not in result.labels
    assert result.risk_level == 0


def test_giving_things_away_with_a_date_is_an_emergency(book):
    result = rules_on(book, "猫已经托付给同桌了 明天是我生日 就那天吧")
    assert {"farewell", "plan"} <= result.concepts
    assert result.urgency == "emergency"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("公交上有个老头手往我裙子里伸", "sexual_abuse"),
        ("他说要检查我的身体", "sexual_abuse"),
        ("她们把我头发剪掉一大块", "bullying"),
        ("每天一进教室桌子被搬到垃圾桶边 上面写着垃圾专座", "bullying"),
        ("刚刚被我爸泼了一壶开水", "abuse"),
        ("冰箱里空的 米也吃完了", "neglect"),
        ("对方说帮我号升级vip 要我先充值", "fraud"),
        ("初三那个混混知道我住哪栋", "danger"),
        # Forms added from the misses on data/nlu/dev (2026-11-29, second session)
        ("他手里有我的视频 说再不给钱就全发到班级群", "sexual_abuse"),
        ("后排几个男生起哄问我多少钱一次", "sexual_abuse"),
        ("半夜 表哥又进我屋了", "sexual_abuse"),
        ("他让我在镜头前换衣服给他看", "sexual_abuse"),
        ("腿上青了一大块 我爸踹的", "abuse"),
        ("同桌刚从书包里掏出把刀", "danger"),
        ("她说不和好就把她的照片发到网上", "sexual_abuse"),
        ("对方说再不给钱就全发出去", "sexual_abuse"),
        ("表姐借了要拍裸照才能借的钱", "sexual_abuse"),
        ("儿子最近总说过马路不想看车", "crisis"),
        ("半夜看见女儿在阳台上站着 她说想跳下去", "crisis"),
        # A child who said it in class is not a lesson.
        ("同桌在课上说我死了也没人管", "crisis"),
    ],
)
def test_indirect_harm_wording_raises_its_label(book, text, label):
    assert label in rules_on(book, text).labels


def test_a_now_cue_makes_a_harm_message_an_emergency(book):
    assert rules_on(book, "他们说放学在校门口堵我 带了甩棍 还有半小时就放学了").urgency_if_harm == (
        "emergency"
    )
    # Alone, with no harm label, a now cue is not a case.
    assert rules_on(book, "还有半小时就放学了").labels == set()


def test_a_hopeless_question_is_not_a_question_about_a_word(book):
    # "什么意思" marks a question about a word (紫砂是什么意思): not 活着有什么意思.
    assert "crisis" in rules_on(book, "压岁钱全被骗光了 活着有什么意思").labels
    assert rules_on(book, "紫砂是什么意思").labels == set()


def test_a_child_out_all_night_is_an_emergency(book):
    result = rules_on(book, "女儿昨晚跟我吵完跑出去了 一宿没回")
    assert "danger" in result.labels
    assert result.urgency_if_harm == "emergency"


def test_a_deposit_being_paid_now_is_an_emergency(book):
    result = rules_on(book, "追星群里说能买到内场票 我正在用压岁钱给卖家转定金")
    assert "fraud" in result.labels
    assert result.urgency == "emergency"
