import pytest

from nlu.pii import find_pii, id_checksum_ok, load_pii_rules, redact_with

VALID_ID = "11010519491231002X"
WRONG_CHECKSUM_ID = "110105194912310021"


@pytest.fixture(scope="module")
def rules(nlu_paths):
    return load_pii_rules(nlu_paths.lexicon_dir)


def kinds(rules, text):
    return [(s.kind, text[s.start : s.end]) for s in find_pii(rules, text)]


def test_id_checksum():
    assert id_checksum_ok(VALID_ID)
    assert id_checksum_ok(VALID_ID.lower())
    assert not id_checksum_ok(WRONG_CHECKSUM_ID)
    assert not id_checksum_ok("12345")


def test_valid_id_card_is_redacted(rules):
    assert redact_with(rules, f"我的身份证是{VALID_ID}") == "我的身份证是[身份证]"


def test_id_with_wrong_checksum_is_not_redacted_as_id(rules):
    found = kinds(rules, f"号码{WRONG_CHECKSUM_ID}")
    assert all(kind != "id_card" for kind, _ in found)
    assert "[身份证]" not in redact_with(rules, f"号码{WRONG_CHECKSUM_ID}")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("电话13812345678找我", "phone", "13812345678"),
        ("打138-1234-5678", "phone", "138-1234-5678"),
        ("座机010-12345678", "phone", "010-12345678"),
        ("加我qq 123456789", "qq", "123456789"),
        ("扣扣：987654321", "qq", "987654321"),
        ("微信号 abc_12345", "wechat", "abc_12345"),
        ("vx:Helper2024", "wechat", "Helper2024"),
        ("邮箱 someone.x@example.com 谢谢", "email", "someone.x@example.com"),
        ("我叫张小明，今年初二", "name", "张小明"),
        ("我叫李四今年十岁", "name", "李四"),
    ],
)
def test_each_kind_is_found(rules, text, kind, value):
    assert (kind, value) in kinds(rules, text)


def test_full_width_digits_are_found_with_original_offsets(rules):
    text = "ＱＱ：９８７６５４３２１"
    spans = find_pii(rules, text)
    assert [(s.kind, text[s.start : s.end]) for s in spans] == [("qq", "９８７６５４３２１")]


def test_not_a_name(rules):
    assert kinds(rules, "我叫他别来了") == []
    assert kinds(rules, "我是初二的学生") == []
    # words that start with a surname character
    assert kinds(rules, "我是高三的 被孤立了三年") == []
    assert kinds(rules, "他们说我是白眼狼") == []
    assert kinds(rules, "我是单亲家庭的孩子") == []
    assert kinds(rules, "我是高明 今年高三") == [("name", "高明")]


def test_redact_replaces_everything(rules):
    text = "我叫王芳，电话13812345678，qq 12345678，邮箱 a@b.cn"
    assert redact_with(rules, text) == "我叫[姓名]，电话[电话]，qq [QQ]，邮箱 [邮箱]"


def test_public_redact(nlu_paths):
    from nlu import redact

    assert redact("打我电话13812345678") == "打我电话[电话]"
