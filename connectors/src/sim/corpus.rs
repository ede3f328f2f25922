//! Realistic Daye appeals for the simulators: places, people and issues drawn
//! from template lists with a seeded RNG, so a seed always gives the same text.

use rand::Rng;
use rand::seq::IndexedRandom;

/// Daye's streets, towns, township and zones, each with a few villages or
/// communities, as a citizen would write them in an address.
pub const PLACES: &[(&str, &[&str])] = &[
    ("东岳路街道", &["东岳社区", "新建社区", "熊家洲社区", "雨润社区"]),
    ("东风路街道", &["城北社区", "东风社区", "湛月社区", "车站社区"]),
    ("金湖街道", &["金湖社区", "下陆村", "港湖村", "还地桥路社区"]),
    ("罗家桥街道", &["罗家桥社区", "张伯祥村", "大冶湖社区"]),
    ("金山店镇", &["金山店村", "张海村", "朝山村"]),
    ("还地桥镇", &["还地桥村", "黄金湖村", "东港村"]),
    ("殷祖镇", &["殷祖村", "古塘村", "南山村"]),
    ("刘仁八镇", &["刘仁八村", "金柯村", "畈上村"]),
    ("陈贵镇", &["陈贵村", "小雷山村", "大广山村"]),
    ("灵乡镇", &["灵乡村", "坑头村", "长坪村"]),
    ("金牛镇", &["金牛村", "胡彦贵村", "袁铺村"]),
    ("保安镇", &["保安村", "沼山村", "尹解元村"]),
    ("大箕铺镇", &["大箕铺村", "柯大兴村", "水南湾村"]),
    ("汪仁镇", &["汪仁村", "章山村", "新城村"]),
    ("茗山乡", &["茗山村", "华垅村", "杨桥村"]),
    ("高新区", &["罗桥工业园", "大冶湖高新区管委会"]),
    ("临空区", &["临空经济区", "还地桥临空产业园"]),
    ("东风农场管理区", &["东风农场", "东风农场三分场"]),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "胡", "朱", "高", "柯", "石", "余", "罗", "程", "汪", "叶",
    "邹", "明",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "建国", "志强", "桂兰", "海燕",
    "红梅", "国平", "小龙", "春华",
];

/// What triage should decide for an issue: the simulators' side of the
/// demo's `expected.triage` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Dispatched,
    /// Dispatched, but no route fits (no town): the centre's manual queue.
    Manual,
    Forwarded,
    Rejected,
    AnsweredOnline,
}

/// Where an issue happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A Daye town and village, in the text (`{p}`) and the address.
    Daye,
    /// Outside Daye: the address given, no Daye place anywhere.
    Outside(&'static str),
    /// No place at all, so no town can be found.
    Nowhere,
}

pub struct Issue {
    pub category: &'static str,
    pub type_code: &'static str,
    pub title: &'static str,
    /// `{p}` is the place, `{d}` a detail that makes each appeal unique.
    pub body: &'static str,
    pub scope: Scope,
    pub place: Place,
}

/// An ordinary work order in a Daye town.
const fn issue(category: &'static str, type_code: &'static str, title: &'static str, body: &'static str) -> Issue {
    triaged(Scope::Dispatched, Place::Daye, category, type_code, title, body)
}

/// An issue written to get a particular triage outcome.
const fn triaged(
    scope: Scope,
    place: Place,
    category: &'static str,
    type_code: &'static str,
    title: &'static str,
    body: &'static str,
) -> Issue {
    Issue {
        category,
        type_code,
        title,
        body,
        scope,
        place,
    }
}

/// The appeals the simulators write. Most are ordinary work orders; a known
/// share exercises triage: bank, courier and telecom business for Huangshi,
/// mentions of banks and couriers that stay in scope, emergencies, places
/// outside Daye, FAQ consultations and appeals with no place.
pub const ISSUES: &[Issue] = &[
    issue(
        "城乡建设",
        "TS",
        "小区路灯长期不亮",
        "{p}小区{d}附近的路灯坏了两个多月，晚上出行很不安全，物业一直推诿，请有关部门尽快维修。",
    ),
    issue(
        "城乡建设",
        "QZ",
        "楼顶漏水无人维修",
        "我家住在{p}{d}，楼顶防水层老化，一下雨就漏水，墙面发霉，找了物业和社区都没解决，请求帮助。",
    ),
    issue(
        "城乡建设",
        "TS",
        "道路破损坑洼严重",
        "{p}通往镇上的水泥路{d}一段坑洼严重，雨天积水，电动车经常摔倒，希望尽快修补。",
    ),
    issue(
        "城乡建设",
        "JB",
        "违章搭建占用公共通道",
        "{p}{d}有住户在楼道和公共通道违章搭建，堵塞消防通道，存在安全隐患，请城管部门查处。",
    ),
    issue(
        "城乡建设",
        "QZ",
        "自来水停水多日",
        "{p}{d}一带已经停水三天了，没有任何通知，老人孩子生活非常不便，请水务公司尽快恢复供水。",
    ),
    issue(
        "环境保护",
        "TS",
        "工厂夜间排放刺鼻气体",
        "{p}附近的工厂每天夜里排放刺鼻气体，{d}的居民晚上不敢开窗，怀疑偷排，请环保部门夜间检查。",
    ),
    issue(
        "环境保护",
        "JB",
        "河道被倾倒建筑垃圾",
        "{p}旁边的河道{d}有人倾倒大量建筑垃圾，河水发黑发臭，请相关部门处理并追责。",
    ),
    issue(
        "环境保护",
        "TS",
        "广场舞噪音扰民",
        "{p}{d}的广场每晚跳广场舞到十点以后，音响声音很大，严重影响休息，多次协商无果。",
    ),
    issue(
        "环境保护",
        "TS",
        "垃圾清运不及时",
        "{p}{d}的垃圾桶已经一周没人清运，天气热气味很大，苍蝇蚊子多，请环卫部门及时清运。",
    ),
    issue(
        "交通运输",
        "JY",
        "建议增开公交班次",
        "{p}到大冶城区的公交车班次太少，{d}早上等车要一个小时，建议增开早晚高峰班次。",
    ),
    issue(
        "交通运输",
        "TS",
        "货车超载损坏道路",
        "{p}{d}每天有大量超载货车通行，路面压坏，扬尘很大，请交通部门加强治超。",
    ),
    triaged(
        Scope::AnsweredOnline,
        Place::Daye,
        "交通运输",
        "ZX",
        "咨询驾驶证换证流程",
        "我是{p}的居民，驾驶证{d}到期，想咨询在大冶换证需要准备哪些材料，可以网上办理吗？",
    ),
    issue(
        "劳动和社会保障",
        "QZ",
        "工地拖欠农民工工资",
        "我在{p}{d}的工地干活，老板拖欠工资四个多月，多次讨要未果，请劳动监察部门帮忙追讨。",
    ),
    triaged(
        Scope::AnsweredOnline,
        Place::Daye,
        "劳动和社会保障",
        "ZX",
        "咨询养老保险补缴",
        "我是{p}的村民，{d}年有几年养老保险断缴了，想咨询现在能不能补缴，补缴标准是多少？",
    ),
    issue(
        "劳动和社会保障",
        "TS",
        "低保评定不公平",
        "{p}{d}的低保评定不公开不透明，有的家庭条件好的也吃低保，真正困难的却评不上，请调查。",
    ),
    issue(
        "教育文体",
        "TS",
        "学校周边交通拥堵",
        "{p}小学{d}放学时段门口车辆乱停，孩子过马路很危险，希望安排交警或协管员维持秩序。",
    ),
    issue(
        "教育文体",
        "ZX",
        "咨询入学划片范围",
        "我家住在{p}{d}，孩子明年上小学，想咨询属于哪个学校的划片范围，需要什么材料？",
    ),
    issue(
        "教育文体",
        "JY",
        "建议增设健身器材",
        "{p}{d}附近没有像样的健身场所，建议在空地上增设一些健身器材，方便老年人锻炼。",
    ),
    issue(
        "卫生计生",
        "TS",
        "卫生院服务态度差",
        "{p}卫生院的医生{d}看病时态度很差，不耐烦，药也开得很贵，希望卫健部门整改。",
    ),
    issue(
        "卫生计生",
        "ZX",
        "咨询医保异地报销",
        "我母亲户籍在{p}，{d}在武汉住院，想咨询医保异地就医如何备案和报销？",
    ),
    issue(
        "卫生计生",
        "JB",
        "无证诊所非法行医",
        "{p}{d}有一家无证诊所在给人打针输液，存在很大风险，请卫生监督部门查处。",
    ),
    issue(
        "商贸旅游",
        "TS",
        "超市销售过期食品",
        "我在{p}{d}的超市买到过期牛奶，与店家协商不予退换，请市场监管部门处理。",
    ),
    issue(
        "商贸旅游",
        "JB",
        "景区强制消费",
        "{p}{d}景区停车场乱收费，还有商贩强买强卖，影响大冶旅游形象，请相关部门整治。",
    ),
    issue(
        "商贸旅游",
        "BY",
        "表扬市场监管所工作人员",
        "{p}市场监管所的工作人员{d}帮我处理消费纠纷，热情耐心，效率很高，特此表扬。",
    ),
    triaged(
        Scope::Forwarded,
        Place::Daye,
        "商贸旅游",
        "TS",
        "银行卡乱扣年费",
        "我在{p}附近的农商行网点办了一张银行卡，{d}发现被扣了年费和短信费，办卡时柜员没有告知，要求退还。",
    ),
    triaged(
        Scope::Forwarded,
        Place::Daye,
        "商贸旅游",
        "TS",
        "快递包裹丢失不赔偿",
        "我在{p}{d}寄出的快递包裹丢失了，快递公司一直推诿，不肯赔偿。",
    ),
    triaged(
        Scope::Forwarded,
        Place::Daye,
        "城乡建设",
        "TS",
        "移动手机信号差",
        "{p}{d}一带中国移动手机信号很差，打电话经常断线，向营业厅反映多次没有改善。",
    ),
    triaged(
        Scope::Dispatched,
        Place::Daye,
        "城乡建设",
        "TS",
        "银行门口占道执法",
        "{p}{d}的城管在工商银行门口占道执法，把人行道都堵住了，请规范管理。",
    ),
    triaged(
        Scope::Dispatched,
        Place::Daye,
        "城乡建设",
        "TS",
        "快递驿站门口道路破损",
        "{p}{d}快递驿站门口的道路破损严重，下雨天全是积水，请尽快修补。",
    ),
    triaged(
        Scope::Rejected,
        Place::Daye,
        "城乡建设",
        "QZ",
        "民房着火",
        "{p}{d}有一栋民房着火了，火很大，里面可能还有人！",
    ),
    triaged(
        Scope::Rejected,
        Place::Outside("湖北省武汉市洪山区"),
        "环境保护",
        "TS",
        "外地小区施工噪音",
        "我住在武汉市洪山区{d}，小区旁边的工地夜间施工噪音扰民，请处理。",
    ),
    triaged(
        Scope::AnsweredOnline,
        Place::Daye,
        "劳动和社会保障",
        "ZX",
        "咨询补办社保卡",
        "请问社保卡丢了怎么补办？{d}前在{p}办的卡，现在找不到了。",
    ),
    triaged(
        Scope::Manual,
        Place::Nowhere,
        "城乡建设",
        "TS",
        "门口路灯不亮",
        "我家门口{d}的路灯坏了好几个月，晚上一片漆黑，请尽快维修。",
    ),
];

const DETAILS_A: &[&str] = &["1", "2", "3", "5", "6", "7", "8", "9", "11", "12", "15", "16", "18", "21", "23"];
const DETAILS_B: &[&str] = &["号楼", "栋", "组", "巷", "号门面"];

/// A generated person.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    /// Canonical 11-digit mobile or `0714-xxxxxxx` landline.
    pub phone: String,
}

pub fn person(rng: &mut impl Rng) -> Person {
    let name = format!("{}{}", SURNAMES.choose(rng).unwrap(), GIVEN.choose(rng).unwrap());
    let phone = if rng.random_bool(0.9) {
        let prefix = ["133", "135", "138", "139", "150", "152", "158", "177", "180", "187", "199"]
            .choose(rng)
            .unwrap();
        format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
    } else {
        format!("0714-{}", rng.random_range(2_000_000..8_999_999u32))
    };
    Person { name, phone }
}

/// A phone in one of the many shapes channels send: `+86 138 0000 0000`,
/// `0714-1234567`, `(0714)1234567`, full-width digits …
pub fn phone_variant(rng: &mut impl Rng, canonical: &str) -> String {
    if let Some(local) = canonical.strip_prefix("0714-") {
        return match rng.random_range(0..3) {
            0 => canonical.to_owned(),
            1 => format!("(0714){local}"),
            _ => format!("0714{local}"),
        };
    }
    match rng.random_range(0..5) {
        0 => format!("+86 {} {} {}", &canonical[..3], &canonical[3..7], &canonical[7..]),
        1 => format!("86-{canonical}"),
        2 => canonical.chars().map(fullwidth).collect(),
        _ => canonical.to_owned(),
    }
}

fn fullwidth(c: char) -> char {
    if c.is_ascii_digit() {
        char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c)
    } else {
        c
    }
}

/// One generated appeal text.
#[derive(Debug, Clone)]
pub struct Text {
    pub category: &'static str,
    pub type_code: &'static str,
    pub title: String,
    pub content: String,
    /// The Daye town the text is about, if any.
    pub town: Option<&'static str>,
    pub address: String,
    /// What triage should decide.
    pub scope: Scope,
}

pub fn text(rng: &mut impl Rng, serial: u64) -> Text {
    let issue = ISSUES.choose(rng).unwrap();
    let (town, villages) = *PLACES.choose(rng).unwrap();
    let village = villages.choose(rng).unwrap();
    let place = format!("{town}{village}");
    // The serial keeps every generated text distinct, so duplicates in a
    // scenario are only the ones the fault plan injects.
    let detail = format!(
        "{}{}{}",
        DETAILS_A.choose(rng).unwrap(),
        DETAILS_B.choose(rng).unwrap(),
        cn_serial(serial)
    );
    let (town, address) = match issue.place {
        Place::Daye => (Some(town), format!("大冶市{place}{detail}")),
        Place::Outside(a) => (None, format!("{a}{detail}")),
        Place::Nowhere => (None, String::new()),
    };
    Text {
        category: issue.category,
        type_code: issue.type_code,
        title: issue.title.to_owned(),
        content: issue.body.replace("{p}", &place).replace("{d}", &detail),
        town,
        address,
        scope: issue.scope,
    }
}

/// A short address suffix such as `（3单元402室）` unique for each serial.
fn cn_serial(serial: u64) -> String {
    format!("（{}单元{}室）", serial % 9 + 1, serial / 9 + 101)
}

/// Rough coordinates inside Daye (114.6–115.2 E, 29.8–30.3 N).
pub fn coordinates(rng: &mut impl Rng) -> (f64, f64) {
    (29.8 + rng.random_range(0.0..0.5), 114.6 + rng.random_range(0.0..0.6))
}
