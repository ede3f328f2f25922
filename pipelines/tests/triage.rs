//! Triage with the shipped rule files (`config/`): every scope class, the
//! tricky in-scope mentions of banks and couriers, routing and the manual
//! queue, and errors that name the file and key.

use minqing_pipelines::normalize::Gazetteer;
use minqing_pipelines::ticket::AppealType;
use minqing_pipelines::triage::route::Routed;
use minqing_pipelines::triage::{Decision, Input, ScopeKind, Sources, Triage};

fn config(name: &str) -> (String, String) {
    let path = format!("{}/../config/{name}", env!("CARGO_MANIFEST_DIR"));
    (name.to_owned(), std::fs::read_to_string(&path).unwrap())
}

fn sources() -> Sources {
    let mut knowledge: Vec<_> = std::fs::read_dir(format!("{}/../config/knowledge", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    knowledge.sort();
    Sources {
        triage: config("triage.toml"),
        knowledge: knowledge.iter().map(|k| config(&format!("knowledge/{k}"))).collect(),
        units: config("units.toml"),
        model: None,
    }
}

fn gazetteer() -> Gazetteer {
    Gazetteer::from_toml(&config("gazetteer.toml").1).unwrap()
}

fn towns() -> Vec<String> {
    gazetteer().towns().iter().map(|t| t.name.clone()).collect()
}

fn triage() -> Triage {
    Triage::load(&sources(), &towns()).unwrap()
}

fn decide(t: &Triage, text: &str, appeal_type: Option<AppealType>) -> Decision {
    let g = gazetteer();
    let town = g.resolve([text]).map(|t| t.name.clone());
    t.decide(&Input {
        title: None,
        content: text,
        appeal_type,
        town: town.as_deref(),
        channel_category: None,
    })
}

#[test]
fn bank_courier_and_telecom_business_is_forwarded_to_huangshi() {
    let t = triage();
    for (text, class) in [
        ("我在大冶农商行办的信用卡，每年被扣200元年费，办卡时没人告知", "bank"),
        ("东岳路的建设银行柜台只开一个窗口，取款排队两个小时", "bank"),
        ("我在金湖街道寄的快递包裹丢失了，圆通快递拒绝赔偿", "express"),
        ("快递员从不送货上门，直接放菜鸟驿站还收派送费", "express"),
        ("还地桥镇这边中国移动信号很差，打电话经常断", "telecom"),
        ("电信宽带经常断网，报修一周没人来，还照常扣费", "telecom"),
    ] {
        let d = decide(&t, text, None);
        assert_eq!(d.scope, ScopeKind::ForwardHuangshi, "{text}: {d:?}");
        assert_eq!(d.rule.as_deref(), Some(class), "{text}");
        assert!(d.reason.contains('+'), "the reason names subject and matter: {}", d.reason);
        assert!(d.unit.is_none());
    }
}

#[test]
fn a_mention_of_a_bank_or_courier_alone_stays_in_scope() {
    let t = triage();
    for text in [
        "城管在东岳路工商银行门口占道执法，把整条街都堵住了",
        "金湖街道建设银行旁边的路灯坏了一个月",
        "罗家桥街道快递驿站门口的道路破损严重，下雨全是积水",
        "东风路街道几家快递公司的三轮车乱停，占道严重",
        "移动摊贩在还地桥镇小学门口占道经营",
    ] {
        let d = decide(&t, text, Some(AppealType::Complaint));
        assert_eq!(d.scope, ScopeKind::Dispatch, "{text}: {d:?}");
        assert!(!d.manual, "{text}: {d:?}");
    }
}

#[test]
fn emergencies_and_other_jurisdictions_are_rejected_with_a_reply() {
    let t = triage();
    for (text, rule, number) in [
        ("陈贵镇小河村一家工厂着火了，火很大", "emergency_fire", "119"),
        ("灵乡镇街上有人持刀追砍路人", "emergency_police", "110"),
        ("金牛镇菜市场有位老人晕倒了，不省人事", "emergency_medical", "120"),
        ("武汉市洪山区某小区夜间施工噪音扰民", "jurisdiction", "12345"),
    ] {
        let d = decide(&t, text, None);
        assert_eq!(d.scope, ScopeKind::Rejected, "{text}: {d:?}");
        assert_eq!(d.rule.as_deref(), Some(rule), "{text}");
        assert!(d.reply.as_deref().unwrap().contains(number), "{text}: {:?}", d.reply);
    }
    // A hazard is not a fire, and a past event is not an emergency.
    let d = decide(&t, "保安镇小区消防通道被堵，万一着火了消防车进不来，存在火灾隐患", None);
    assert_eq!(d.scope, ScopeKind::Dispatch, "{d:?}");
    // A Daye place keeps an appeal that also names Wuhan.
    let d = decide(&t, "我在武汉市工作，老家大箕铺镇的村道坑洼严重", None);
    assert_eq!(d.scope, ScopeKind::Dispatch, "{d:?}");
}

#[test]
fn consultations_that_match_the_knowledge_base_are_answered_online() {
    let t = triage();
    let q = "我是金山店镇的村民，想咨询养老保险断缴了能不能补缴？";
    let d = decide(&t, q, Some(AppealType::Consultation));
    assert_eq!(d.scope, ScopeKind::AnsweredOnline, "{d:?}");
    assert_eq!(d.rule.as_deref(), Some("pension_backpay"));
    assert!(d.reply.as_deref().unwrap().contains("补缴"));
    assert!(d.answer_source.as_deref().unwrap().contains("养老保险"));
    // The same words in a complaint need a unit.
    let d = decide(&t, "金山店镇社保所不给我办理养老保险补缴，态度恶劣", Some(AppealType::Complaint));
    assert_eq!(d.scope, ScopeKind::Dispatch, "{d:?}");
    assert_eq!(d.unit.as_deref(), Some("DY-D-RSJ"));
}

#[test]
fn the_appeal_type_comes_from_the_channel_or_the_cue_words() {
    let t = triage();
    // Without a channel code, the shipped cue words type the text, and a
    // consultation found that way is still answered online.
    let d = decide(&t, "我是金山店镇的村民，请问养老保险断缴了能不能补缴？", None);
    assert_eq!(d.appeal_type, Some(AppealType::Consultation), "{d:?}");
    assert_eq!(d.appeal_type_by.as_deref(), Some("cues"));
    assert_eq!(d.scope, ScopeKind::AnsweredOnline, "{d:?}");
    for (text, want) in [
        ("举报还地桥镇一家养殖场偷排污水，请问谁来管", AppealType::Report),
        ("投诉金湖街道夜市烧烤油烟扰民", AppealType::Complaint),
        ("建议在东岳路增设一个公交站台", AppealType::Suggestion),
        ("表扬灵乡镇派出所民警拾金不昧", AppealType::Praise),
        ("家里老人走失，恳请帮忙寻找", AppealType::Help),
    ] {
        let d = decide(&t, text, None);
        assert_eq!(d.appeal_type, Some(want), "{text}: {d:?}");
    }
    // The title is read before the text.
    let d = t.decide(&Input {
        title: Some("咨询小区停车收费标准"),
        content: "物业乱收费，我要投诉",
        appeal_type: None,
        town: None,
        channel_category: None,
    });
    assert_eq!(d.appeal_type, Some(AppealType::Consultation));
    // The channel's own code wins over the words.
    let d = decide(&t, "请问养老保险断缴了能不能补缴", Some(AppealType::Complaint));
    assert_eq!(
        (d.appeal_type, d.appeal_type_by.as_deref()),
        (Some(AppealType::Complaint), Some("channel"))
    );
    assert_eq!(decide(&t, "东岳路路灯不亮", None).appeal_type, None);
}

#[test]
fn every_unit_is_reachable_and_an_unknown_town_goes_to_the_manual_queue() {
    let t = triage();
    let towns = towns();
    assert!(t.router().unreachable(&towns).is_empty());
    let categories = [
        "城乡建设",
        "环境保护",
        "交通运输",
        "劳动和社会保障",
        "教育文体",
        "卫生计生",
        "商贸旅游",
    ];
    let mut reached = std::collections::HashSet::new();
    for c in categories {
        for town in &towns {
            match t.router().route(Some(c), Some(town)) {
                Routed::Unit(u) => {
                    reached.insert(u.code.clone());
                }
                Routed::Manual(why) => panic!("{c} in {town}: {why}"),
            }
        }
    }
    assert_eq!(reached.len(), t.router().units().len());
    // Every town's construction matters go to its own government.
    match t.router().route(Some("城乡建设"), Some("茗山乡")) {
        Routed::Unit(u) => assert_eq!(u.town.as_deref(), Some("茗山乡")),
        other => panic!("{other:?}"),
    }
    // A department needs no town; a town government does.
    assert!(matches!(t.router().route(Some("环境保护"), None), Routed::Unit(u) if u.code == "DY-D-SHJ"));
    let d = decide(&t, "路灯坏了好几个月，晚上一片漆黑", Some(AppealType::Complaint));
    assert!(d.manual, "{d:?}");
    assert_eq!(d.unit.as_deref(), Some("DY-12345"));
    assert!(d.reason.contains("town is unknown"), "{}", d.reason);
    let d = decide(&t, "茗山乡一些事情想反映一下", None);
    assert!(d.manual && d.reason.contains("no category"), "{d:?}");
}

#[test]
fn bad_rule_files_are_refused_with_the_file_and_key() {
    let mut s = sources();
    s.triage.1 = s
        .triage
        .1
        .replace("id = \"express\"", "id = \"bank\"")
        .replace("reply = \"您反映的是火警", "reply = \"\"\nunused = \"您反映的是火警");
    let err = Triage::load(&s, &towns()).unwrap_err().to_string();
    assert!(err.contains("triage.toml") && err.contains("unknown field `unused`"), "{err}");

    let mut s = sources();
    s.triage.1 = s.triage.1.replace("type = \"praise\"", "type = \"grumble\"");
    let err = Triage::load(&s, &towns()).unwrap_err().to_string();
    assert!(err.contains("triage.toml: `appeal_type[1].type`: `grumble`"), "{err}");

    let mut s = sources();
    s.triage.1 = s.triage.1.replace("id = \"express\"", "id = \"bank\"");
    s.units.1 = s
        .units
        .1
        .replace("to = \"DY-D-SHJ\"", "to = \"DY-D-NOPE\"")
        .replace("town = \"茗山乡\"", "town = \"火星乡\"");
    let err = Triage::load(&s, &towns()).unwrap_err().to_string();
    assert!(err.contains("`forward`: id `bank` is used twice"), "{err}");
    assert!(err.contains("units.toml: `route[1].to`: no unit has the code `DY-D-NOPE`"), "{err}");
    assert!(err.contains("`火星乡` is not in the gazetteer"), "{err}");
    assert!(err.contains("`茗山乡` has no town unit"), "{err}");

    let mut s = sources();
    s.knowledge[0]
        .1
        .push_str("\n[[entry]]\nid = \"x\"\nquestion = \"q\"\nall = [[]]\nanswer = \"a\"\nsource = \"\"\n");
    let err = Triage::load(&s, &towns()).unwrap_err().to_string();
    assert!(err.contains(".source` (x): must not be empty"), "{err}");
    assert!(err.contains("an empty group never matches"), "{err}");
}

#[test]
fn a_model_decides_the_category_and_must_use_the_taxonomy() {
    use minqing_pipelines::classify::{self, Example, FeatureSpec, TrainParams};
    let ex = |text: &str, label: &str| Example {
        text: text.into(),
        label: label.into(),
    };
    let spec = FeatureSpec {
        min_df: 1,
        ..FeatureSpec::default()
    };
    let good = vec![
        ex("学校乱收补课费", "教育文体"),
        ex("幼儿园收费高", "教育文体"),
        ex("工厂排放废气", "环境保护"),
        ex("河道污水发臭", "环境保护"),
    ];
    let mut s = sources();
    s.model = Some(std::sync::Arc::new(classify::train(&good, &spec, &TrainParams::default()).unwrap()));
    let t = Triage::load(&s, &towns()).unwrap();
    let d = decide(&t, "汪仁镇中学乱收补课费", Some(AppealType::Complaint));
    assert_eq!((d.category.as_deref(), d.category_by.as_deref()), (Some("教育文体"), Some("model")));
    assert_eq!(d.unit.as_deref(), Some("DY-D-JYJ"));

    let bad = vec![ex("学校乱收补课费", "教育"), ex("工厂排放废气", "环境保护")];
    s.model = Some(std::sync::Arc::new(classify::train(&bad, &spec, &TrainParams::default()).unwrap()));
    let err = Triage::load(&s, &towns()).unwrap_err().to_string();
    assert!(err.contains("model's label `教育` is not a category"), "{err}");
}
