//! The masker on hand-written texts: what people write, and what only looks like it.

use super::*;

fn m(s: &str) -> String {
    Masker::default().mask(s).into_owned()
}

#[test]
fn mobiles_in_every_way_people_write_them() {
    for (text, want) in [
        ("电话13812345678", "电话[手机号]"),
        ("请回电+8613812345678谢谢", "请回电[手机号]谢谢"),
        ("+86 138 1234 5678", "[手机号]"),
        ("联系方式：138-1234-5678。", "联系方式：[手机号]。"),
        ("008613812345678", "[手机号]"),
        ("回电１３８１２３４５６７８", "回电[手机号]"),
        ("86 13812345678", "[手机号]"),
        ("号码是 19912345678 和 15012345678", "号码是 [手机号] 和 [手机号]"),
    ] {
        assert_eq!(m(text), want, "{text}");
    }
}

#[test]
fn landlines_id_numbers_and_cards() {
    for (text, want) in [
        ("座机0714-8765432", "座机[电话]"),
        ("拨打0734—8765432", "拨打[电话]"),
        ("电话（0714）8765432", "电话（[电话]"),
        ("打(0714)8765432找我", "打[电话]找我"),
        ("07148765432", "[电话]"),
        ("电话8765432", "电话[电话]"),
        ("身份证42028119900101123X，", "身份证[身份证号]，"),
        ("身份证号420281199001011234", "身份证号[身份证号]"),
        // A UnionPay number passes the Luhn check; the same digits after a
        // card cue are masked whatever their check digit.
        ("6222020200112233446 被扣款", "[银行卡号] 被扣款"),
        ("卡号6222 0202 0011 2233 440", "卡号[银行卡号]"),
    ] {
        assert_eq!(m(text), want, "{text}");
    }
}

#[test]
fn a_count_next_to_a_phone_is_kept_apart_from_it() {
    assert_eq!(m("共12 13812345678"), "共12 [手机号]");
    assert_eq!(m("12户，13812345678"), "12户，[手机号]");
}

#[test]
fn what_only_looks_like_personal_data_stays() {
    for text in [
        "编号202606010000001",
        "共12户",
        "2026-06-01 09:30",
        "投诉电话12345",
        "金额 1234567 元",
        "12345热线",
        "工单DY-7K3Q-9M2P",
        "我叫了物业来修",
        "不愿透露姓名，",
        "1380000",
        "电话：0000000000000000",
        "联系时间2026-06-01",
        "请在2026-06-01 09:30前联系",
    ] {
        assert_eq!(m(text), text, "{text}");
    }
}

#[test]
fn plates_when_configured() {
    assert_eq!(m("车牌鄂B12345违停"), "车牌[车牌]违停");
    assert_eq!(m("新能源车鄂BD12345"), "新能源车[车牌]");
    assert_eq!(m("鄂B·A1234"), "[车牌]");
    let off = Masker::new(&PrivacySettings { mask_plates: false });
    assert_eq!(off.mask("车牌鄂B12345违停"), "车牌鄂B12345违停");
    // A province's name before words is no plate.
    assert_eq!(m("鄂州ABC"), "鄂州ABC");
}

#[test]
fn names_after_a_cue() {
    assert_eq!(m("联系人：张三，电话13812345678"), "联系人：[姓名]，电话[手机号]");
    assert_eq!(m("我叫王小明家住金湖"), "我叫[姓名]家住金湖");
    assert_eq!(m("户主：李四，电话未知"), "户主：[姓名]，电话未知");
    // Found on real letters: 户主 as a common noun.
    assert_eq!(m("召开户主会，户主签字"), "召开户主会，户主签字");
    // A name followed by other words, or a cue by another cue.
    assert_eq!(m("姓名张三性别男"), "姓名[姓名]性别男");
    assert_eq!(m("联系人张三说路灯坏了"), "联系人[姓名]说路灯坏了");
    assert_eq!(m("我叫王五今天又来反映"), "我叫[姓名]今天又来反映");
    assert_eq!(m("联系人姓名：张三"), "联系人姓名：[姓名]");
}

#[test]
fn text_without_personal_data_is_borrowed() {
    assert!(matches!(Masker::default().mask("路灯坏了三天，请尽快维修"), Cow::Borrowed(_)));
}

#[test]
fn events_for_analysis_hold_no_contact_and_masked_text() {
    let mut t = crate::ticket::sample();
    t.content = "我的电话13912345678，身份证42028119900101123X".into();
    let mut d = crate::ticket::decision::sample_decision();
    d.reason = "内容含13912345678".into();
    t.triage = Some(d);
    let e = Masker::default().event_for_analysis(&TicketEvent::received(t));
    let a = e.ticket().unwrap();
    assert!(
        !a.triage.as_ref().unwrap().reason.contains("1391234"),
        "the triage reason is masked too"
    );
    assert_eq!(
        (a.contact_name.as_deref(), a.contact_phone.as_deref(), a.phone_masked.as_deref()),
        (None, None, None)
    );
    assert_eq!(a.content, "我的电话[手机号]，身份证[身份证号]");
    let json = serde_json::to_string(&e).unwrap();
    assert!(
        !json.contains("1391234") && !json.contains("13800000000") && !json.contains("张三"),
        "{json}"
    );
}
