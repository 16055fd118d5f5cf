from nlu.normalize import normalize


def test_traditional_to_simplified():
    assert normalize("同學們說我是鄉下人") == "同学们说我是乡下人"


def test_full_width_to_half_width_and_lower_case():
    assert normalize("ＱＱ：１２３４５　ＡＢＣ") == "qq:12345 abc"


def test_length_is_kept_so_offsets_stay_valid():
    for text in ["我們學校髮型", "ＺＳ了　算了", "救救我！！！😭😭", "İstanbul 測試"]:
        assert len(normalize(text)) == len(text)


def test_emoji_and_repeated_characters_are_kept():
    assert normalize("救救我！！！😭😭") == "救救我!!!😭😭"
    assert normalize("好好好好累") == "好好好好累"
