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
    /// Ways citizens put it; `{p}` is the place, `{d}` a detail of the case.
    pub bodies: &'static [&'static str],
    pub scope: Scope,
    pub place: Place,
}

/// An ordinary work order in a Daye town.
const fn issue(category: &'static str, type_code: &'static str, title: &'static str, bodies: &'static [&'static str]) -> Issue {
    triaged(Scope::Dispatched, Place::Daye, category, type_code, title, bodies)
}

/// An issue written to get a particular triage outcome.
const fn triaged(
    scope: Scope,
    place: Place,
    category: &'static str,
    type_code: &'static str,
    title: &'static str,
    bodies: &'static [&'static str],
) -> Issue {
    Issue {
        category,
        type_code,
        title,
        bodies,
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
        &[
            "{p}小区{d}附近的路灯坏了两个多月，晚上出行很不安全，物业一直推诿，请有关部门尽快维修。",
            "{p}{d}那一片的路灯一到晚上就不亮，黑灯瞎火的，老人晚上散步摔过跤。",
        ],
    ),
    issue(
        "城乡建设",
        "QZ",
        "楼顶漏水无人维修",
        &[
            "我家住在{p}{d}，楼顶防水层老化，一下雨就漏水，墙面发霉，找了物业和社区都没解决，请求帮助。",
            "{p}{d}顶楼每逢下雨屋里就漏水，天花板掉灰，家具都泡坏了，物业不管，请求帮助协调维修。",
        ],
    ),
    issue(
        "城乡建设",
        "TS",
        "道路破损坑洼严重",
        &[
            "{p}通往镇上的水泥路{d}一段坑洼严重，雨天积水，电动车经常摔倒，希望尽快修补。",
            "从{p}进村的那段路{d}附近路面塌陷、坑坑洼洼，车子开过去底盘都刮坏了。",
        ],
    ),
    issue(
        "城乡建设",
        "JB",
        "违章搭建占用公共通道",
        &[
            "{p}{d}有住户在楼道和公共通道违章搭建，堵塞消防通道，存在安全隐患，请城管部门查处。",
            "{p}{d}楼下有人私自加盖棚子搞违建，把消防通道占了一大半，消防车根本进不来，请依法查处。",
        ],
    ),
    issue(
        "城乡建设",
        "QZ",
        "自来水停水多日",
        &[
            "{p}{d}一带已经停水三天了，没有任何通知，老人孩子生活非常不便，请水务公司尽快恢复供水。",
            "{p}{d}这几天一直没有自来水，水龙头拧开只有空气，做饭洗澡都成问题，请求帮助尽快来水。",
        ],
    ),
    issue(
        "环境保护",
        "TS",
        "工厂夜间排放刺鼻气体",
        &[
            "{p}附近的工厂每天夜里排放刺鼻气体，{d}的居民晚上不敢开窗，怀疑偷排，请环保部门夜间检查。",
            "{p}边上那家厂子一到半夜就排放黑烟，{d}一带满是刺鼻的化学味，闻了头晕恶心。",
        ],
    ),
    issue(
        "环境保护",
        "JB",
        "河道被倾倒建筑垃圾",
        &[
            "{p}旁边的河道{d}有人倾倒大量建筑垃圾，河水发黑发臭，请相关部门处理并追责。",
            "{p}{d}附近的小河边被人偷偷倒了好几车渣土和建筑垃圾，河道都快堵死了，请查处倾倒的人。",
        ],
    ),
    issue(
        "环境保护",
        "TS",
        "广场舞噪音扰民",
        &[
            "{p}{d}的广场每晚跳广场舞到十点以后，音响声音很大，严重影响休息，多次协商无果。",
            "{p}{d}楼下空地每天晚上都有人开着音响跳广场舞，噪音一直闹到深夜，孩子没法写作业。",
        ],
    ),
    issue(
        "环境保护",
        "TS",
        "垃圾清运不及时",
        &[
            "{p}{d}的垃圾桶已经一周没人清运，天气热气味很大，苍蝇蚊子多，请环卫部门及时清运。",
            "{p}{d}路口的垃圾堆了好多天没人拉走，污水横流，路过都要捂着鼻子。",
        ],
    ),
    issue(
        "交通运输",
        "JY",
        "建议增开公交班次",
        &[
            "{p}到大冶城区的公交车班次太少，{d}早上等车要一个小时，建议增开早晚高峰班次。",
            "建议在{p}和城区之间增加公交班次，{d}附近上班的人早晚都挤不上车。",
        ],
    ),
    issue(
        "交通运输",
        "TS",
        "货车超载损坏道路",
        &[
            "{p}{d}每天有大量超载货车通行，路面压坏，扬尘很大，请交通部门加强治超。",
            "{p}{d}这条路上拉矿石的重型货车整天跑，超载严重，路面被压得稀烂，灰尘满天。",
        ],
    ),
    triaged(
        Scope::AnsweredOnline,
        Place::Daye,
        "交通运输",
        "ZX",
        "咨询驾驶证换证流程",
        &[
            "我是{p}的居民，驾驶证{d}到期，想咨询在大冶换证需要准备哪些材料，可以网上办理吗？",
            "请问驾照快到期了怎么办理换证？我住在{p}{d}，平时上班没时间去车管所。",
        ],
    ),
    issue(
        "劳动和社会保障",
        "QZ",
        "工地拖欠农民工工资",
        &[
            "我在{p}{d}的工地干活，老板拖欠工资四个多月，多次讨要未果，请劳动监察部门帮忙追讨。",
            "{p}{d}那个工地的包工头拖欠我们十几个人的工资，过年都回不了家，请求帮忙讨薪。",
        ],
    ),
    triaged(
        Scope::AnsweredOnline,
        Place::Daye,
        "劳动和社会保障",
        "ZX",
        "咨询养老保险补缴",
        &[
            "我是{p}的村民，{d}年有几年养老保险断缴了，想咨询现在能不能补缴，补缴标准是多少？",
            "请问养老保险以前断缴了几年，现在还能补缴吗？我是{p}{d}的村民。",
        ],
    ),
    issue(
        "劳动和社会保障",
        "TS",
        "低保评定不公平",
        &[
            "{p}{d}的低保评定不公开不透明，有的家庭条件好的也吃低保，真正困难的却评不上，请调查。",
            "{p}{d}评低保全凭关系，村干部亲戚都评上了，真正揭不开锅的几户却没有份。",
        ],
    ),
    issue(
        "教育文体",
        "TS",
        "学校周边交通拥堵",
        &[
            "{p}小学{d}放学时段门口车辆乱停，孩子过马路很危险，希望安排交警或协管员维持秩序。",
            "{p}小学{d}门口每到接送时间就堵得水泄不通，家长车辆乱停乱放，学生过马路险象环生。",
        ],
    ),
    issue(
        "教育文体",
        "ZX",
        "咨询入学划片范围",
        &[
            "我家住在{p}{d}，孩子明年上小学，想咨询属于哪个学校的划片范围，需要什么材料？",
            "想咨询一下{p}{d}的适龄儿童明年入学划到哪个学校，报名要带哪些材料？",
        ],
    ),
    issue(
        "教育文体",
        "JY",
        "建议增设健身器材",
        &[
            "{p}{d}附近没有像样的健身场所，建议在空地上增设一些健身器材，方便老年人锻炼。",
            "{p}{d}的老人多，却连一块活动的地方都没有，希望增设几套健身器材和几张长椅。",
        ],
    ),
    issue(
        "卫生计生",
        "TS",
        "卫生院服务态度差",
        &[
            "{p}卫生院的医生{d}看病时态度很差，不耐烦，药也开得很贵，希望卫健部门整改。",
            "{p}卫生院{d}那天给我看病的医生爱理不理，问两句就不耐烦，收费也不明不白。",
        ],
    ),
    issue(
        "卫生计生",
        "ZX",
        "咨询医保异地报销",
        &[
            "我母亲户籍在{p}，{d}在武汉住院，想咨询医保异地就医如何备案和报销？",
            "我父亲是{p}的户口，{d}起在外地儿子家长住，想咨询在外地看病怎么用医保结算？",
        ],
    ),
    issue(
        "卫生计生",
        "JB",
        "无证诊所非法行医",
        &[
            "{p}{d}有一家无证诊所在给人打针输液，存在很大风险，请卫生监督部门查处。",
            "{p}{d}巷子里有个没挂牌的私人诊所，没有行医资格还给小孩打吊瓶，出了事谁负责，请查处。",
        ],
    ),
    issue(
        "商贸旅游",
        "TS",
        "超市销售过期食品",
        &[
            "我在{p}{d}的超市买到过期牛奶，与店家协商不予退换，请市场监管部门处理。",
            "{p}{d}一家超市货架上的面包和酸奶都过期了还在卖，我买回家才发现，店里不认账。",
        ],
    ),
    issue(
        "商贸旅游",
        "JB",
        "景区强制消费",
        &[
            "{p}{d}景区停车场乱收费，还有商贩强买强卖，影响大冶旅游形象，请相关部门整治。",
            "{p}{d}景区门口的停车费想收多少收多少，里面的摊贩还拉客强卖，游客意见很大。",
        ],
    ),
    issue(
        "商贸旅游",
        "BY",
        "表扬市场监管所工作人员",
        &[
            "{p}市场监管所的工作人员{d}帮我处理消费纠纷，热情耐心，效率很高，特此表扬。",
            "特别感谢{p}市场监管所的同志，{d}上门调解我的购物纠纷，认真负责，为他们点赞。",
        ],
    ),
    triaged(
        Scope::Forwarded,
        Place::Daye,
        "商贸旅游",
        "TS",
        "银行卡乱扣年费",
        &[
            "我在{p}附近的农商行网点办了一张银行卡，{d}发现被扣了年费和短信费，办卡时柜员没有告知，要求退还。",
            "{p}{d}农商行网点给我办的银行卡每年乱扣年费，柜员当初只说免费，现在要求退还扣费。",
        ],
    ),
    triaged(
        Scope::Forwarded,
        Place::Daye,
        "商贸旅游",
        "TS",
        "快递包裹丢失不赔偿",
        &[
            "我在{p}{d}寄出的快递包裹丢失了，快递公司一直推诿，不肯赔偿。",
            "我{d}在{p}的快递点寄的包裹到现在也没送到，查不到物流，快递公司说丢失了但不赔偿。",
        ],
    ),
    triaged(
        Scope::Forwarded,
        Place::Daye,
        "城乡建设",
        "TS",
        "移动手机信号差",
        &[
            "{p}{d}一带中国移动手机信号很差，打电话经常断线，向营业厅反映多次没有改善。",
            "{p}{d}家里用的中国移动手机信号时有时无，打电话老是掉线，营业厅一直拖着不解决。",
        ],
    ),
    triaged(
        Scope::Dispatched,
        Place::Daye,
        "城乡建设",
        "TS",
        "银行门口占道执法",
        &[
            "{p}{d}的城管在工商银行门口占道执法，把人行道都堵住了，请规范管理。",
            "{p}{d}工商银行门前的人行道被城管执法车辆长期占道停放，行人只能走机动车道。",
        ],
    ),
    triaged(
        Scope::Dispatched,
        Place::Daye,
        "城乡建设",
        "TS",
        "快递驿站门口道路破损",
        &[
            "{p}{d}快递驿站门口的道路破损严重，下雨天全是积水，请尽快修补。",
            "{p}{d}快递驿站前面那段路面坑洼不平，一下雨积水成片，行人只能绕着走。",
        ],
    ),
    triaged(
        Scope::Rejected,
        Place::Daye,
        "城乡建设",
        "QZ",
        "民房着火",
        &[
            "{p}{d}有一栋民房着火了，火很大，里面可能还有人！",
            "快来人！{p}{d}一户人家起火了，浓烟滚滚，火很大！",
        ],
    ),
    triaged(
        Scope::Rejected,
        Place::Outside("湖北省武汉市洪山区"),
        "环境保护",
        "TS",
        "外地小区施工噪音",
        &[
            "我住在武汉市洪山区{d}，小区旁边的工地夜间施工噪音扰民，请处理。",
            "武汉市洪山区{d}附近的工地天天半夜还在打桩，吵得整栋楼睡不着，请管一管。",
        ],
    ),
    triaged(
        Scope::AnsweredOnline,
        Place::Daye,
        "劳动和社会保障",
        "ZX",
        "咨询补办社保卡",
        &[
            "请问社保卡丢了怎么补办？{d}前在{p}办的卡，现在找不到了。",
            "请问社保卡丢失了如何办理补卡？我是{p}的，{d}办的卡。",
        ],
    ),
    triaged(
        Scope::Manual,
        Place::Nowhere,
        "城乡建设",
        "TS",
        "门口路灯不亮",
        &[
            "我家门口{d}的路灯坏了好几个月，晚上一片漆黑，请尽快维修。",
            "我们家门前{d}那盏路灯坏了很久了，一直没人修，晚上回家特别黑。",
        ],
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
    /// Which of [`ISSUES`] and [`PLACES`] it was written from.
    pub template: usize,
    pub place: usize,
    /// The village or community within the town, and the building or lane
    /// there (without the unit number).
    pub village: &'static str,
    pub spot: String,
}

/// How much a citizen says around the issue itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voice {
    /// Who they are, since when, whom they told, what it does to them.
    Complaint,
    Question,
    Praise,
    /// An emergency: no time for anything else (and words like 上个月
    /// would tell triage it is not happening now).
    Alarm,
}

impl Issue {
    fn voice(&self) -> Voice {
        match (self.scope, self.place, self.type_code) {
            (Scope::Rejected, Place::Daye, _) => Voice::Alarm,
            (_, _, "ZX") => Voice::Question,
            (_, _, "BY") => Voice::Praise,
            _ => Voice::Complaint,
        }
    }
}

// Estate names: none of these characters starts a Daye place name, so an
// estate never tells the gazetteer a town (a test checks it).
const ESTATE_A: &[&str] = &[
    "锦", "绣", "华", "瑞", "祥", "泰", "康", "宁", "翠", "柳", "桂", "梅", "松", "竹", "兰", "荷", "丰", "裕", "盛", "兴", "福", "德",
    "鸿", "嘉", "恒", "昌", "怡", "馨", "悦", "景", "博", "雅", "宏", "育", "春", "秋",
];
const ESTATE_B: &[&str] = &[
    "和", "园", "庭", "府", "景", "湾", "林", "苑", "都", "邦", "源", "辉", "盈", "豪", "秀", "润", "晖", "茂", "达", "馨",
];
const ESTATE_SUFFIX: &[&str] = &["花园", "小区", "家园", "雅苑", "新村", "公寓", "名邸", "佳苑"];
const WHO_AM_I: &[&str] = &["我是", "本人是", "我们是", "我家是"];
const RESIDENT: &[&str] = &["居民", "业主", "住户", "租户", "老住户", "老职工"];
const SINCE_WORDS: &[&str] = &[
    "上个月",
    "上周",
    "去年冬天",
    "今年开春",
    "端午节前后",
    "国庆节后",
    "前年",
    "三月份",
    "年初",
    "春节以后",
];
const NUMBERS: &[&str] = &["两", "三", "四", "五", "好几", "七八", "十几"];

/// A realistic estate name such as 锦和花园.
pub fn estate(rng: &mut impl Rng) -> String {
    format!(
        "{}{}{}",
        ESTATE_A.choose(rng).unwrap(),
        ESTATE_B.choose(rng).unwrap(),
        ESTATE_SUFFIX.choose(rng).unwrap()
    )
}

fn pick<R: Rng + ?Sized>(rng: &mut R, xs: &[&'static str]) -> &'static str {
    xs.choose(rng).copied().unwrap_or("")
}

// Each part of a complaint has several sentence frames and word lists, so
// that two citizens rarely say the same thing the same way.
const SUBJECTS: &[&str] = &["这个情况", "这种状况", "这事", "这个问题", "这毛病", "这种现象"];
const STATES: &[&str] = &[
    "一直存在",
    "没断过",
    "反复出现",
    "没有好转",
    "越来越严重",
    "时好时坏",
    "一天比一天厉害",
];
const DURATIONS: &[&str] = &[
    "两个多月",
    "半年多",
    "一个多星期",
    "快一年",
    "十来天",
    "三个多月",
    "大半年",
    "二十多天",
    "一个多月",
];
const OFFICES: &[&str] = &[
    "物业",
    "社区",
    "村委会",
    "镇政府",
    "街道办",
    "网格员",
    "居委会",
    "村干部",
    "片区负责人",
];
const HOTLINES: &[&str] = &["市长热线", "社区电话", "物业电话", "村委会电话", "服务热线"];
const RESULTS: &[&str] = &[
    "一直没有结果",
    "每次都说马上处理",
    "每次都推来推去",
    "到现在也没人来看过",
    "答应得好好的就是不办",
    "至今石沉大海",
    "后来就没下文了",
    "一拖再拖",
    "谁都说不归自己管",
    "敷衍了事",
];
const HOUSEHOLDS: &[&str] = &[
    "八十多岁的老人",
    "两个上学的孩子",
    "一位孕妇",
    "腿脚不便的亲戚",
    "刚出院的病人",
    "常年卧床的老人",
    "上夜班的工人",
    "刚满月的婴儿",
    "高血压的老伴",
    "要高考的孩子",
];
const FEELINGS: &[&str] = &[
    "实在受不了了",
    "天天提心吊胆",
    "生活受到很大影响",
    "每天都很焦虑",
    "晚上根本睡不好",
    "苦不堪言",
    "心里很着急",
    "意见非常大",
    "都快崩溃了",
];
const HARMS: &[&str] = &[
    "上周摔了一跤",
    "已经病倒了",
    "好几天没上学",
    "生意都做不下去了",
    "被吓得不敢出门",
    "摔伤了腿",
    "连着几晚失眠",
];
const ASKS: &[&str] = &["麻烦", "希望", "请", "盼望", "恳请", "强烈要求"];
const DEPTS: &[&str] = &["有关部门", "领导", "相关单位", "街道和社区", "市里", "主管部门", "职能部门"];
const SPEEDS: &[&str] = &["尽快", "早日", "抓紧", "及时", "马上", "务必"];
const ACTS: &[&str] = &["派人", "安排人员", "组织力量", "协调", "督促"];
const SPOTS: &[&str] = &["到现场", "过来", "实地", "上门", "下来"];
const VERBS: &[&str] = &["看看", "核实", "解决", "处理", "查看", "整改"];

fn since(rng: &mut impl Rng) -> String {
    let when = match rng.random_range(0..3) {
        0 => format!("{}月{}日", rng.random_range(1..=12), rng.random_range(1..=28)),
        1 => pick(rng, SINCE_WORDS).to_owned(),
        _ => format!("{}天前", pick(rng, &["三", "五", "七", "十", "二十", "四十"])),
    };
    match rng.random_range(0..3) {
        0 => format!(
            "{}从{when}{}就{}。",
            pick(rng, SUBJECTS),
            pick(rng, &["开始", "起"]),
            pick(rng, STATES)
        ),
        1 => format!(
            "{when}{}，{}{}。",
            pick(rng, &["以来", "到现在"]),
            pick(rng, SUBJECTS),
            pick(rng, STATES)
        ),
        _ => format!("算起来{}已经{}了。", pick(rng, SUBJECTS), pick(rng, DURATIONS)),
    }
}

fn history(rng: &mut impl Rng) -> String {
    match rng.random_range(0..4) {
        0 => format!(
            "{}向{}反映过{}次，{}。",
            pick(rng, &["前后", "先后", "已经", "之前"]),
            pick(rng, OFFICES),
            pick(rng, NUMBERS),
            pick(rng, RESULTS)
        ),
        1 => format!(
            "{}那边我{}{}回了，{}。",
            pick(rng, OFFICES),
            pick(rng, &["去过", "打过电话", "找过"]),
            pick(rng, NUMBERS),
            pick(rng, RESULTS)
        ),
        2 => format!("打过{}次{}，{}。", pick(rng, NUMBERS), pick(rng, HOTLINES), pick(rng, RESULTS)),
        _ => format!(
            "{}的人来看过一次，{}{}，{}。",
            pick(rng, OFFICES),
            pick(rng, &["说是要", "答应", "表示会"]),
            pick(rng, &["上报", "维修", "协调", "研究"]),
            pick(rng, RESULTS)
        ),
    }
}

fn impact(rng: &mut impl Rng) -> String {
    match rng.random_range(0..3) {
        0 => format!(
            "{}{}{}，{}。",
            pick(rng, &["家里", "楼上", "隔壁", "同一栋楼", "对门"]),
            pick(rng, &["有", "住着"]),
            pick(rng, HOUSEHOLDS),
            pick(rng, FEELINGS)
        ),
        1 => format!(
            "{}{}。",
            pick(rng, &["我家老人", "邻居家孩子", "楼下大爷", "我爱人", "隔壁阿姨"]),
            pick(rng, HARMS)
        ),
        _ => format!(
            "这{}{}{}。",
            pick(rng, &["几天", "段时间", "阵子"]),
            pick(rng, &["我们", "大家", "全家", "左邻右舍"]),
            pick(rng, FEELINGS)
        ),
    }
}

fn close(rng: &mut impl Rng) -> String {
    match rng.random_range(0..3) {
        0 => format!(
            "{}{}{}{}{}{}。",
            pick(rng, ASKS),
            pick(rng, DEPTS),
            pick(rng, SPEEDS),
            pick(rng, ACTS),
            pick(rng, SPOTS),
            pick(rng, VERBS)
        ),
        1 => format!(
            "{}{}，{}{}{}。",
            pick(rng, &["这个问题", "此事", "这件事"]),
            pick(rng, &["拖不得了", "不能再拖了", "再拖下去要出事"]),
            pick(rng, ASKS),
            pick(rng, DEPTS),
            pick(rng, &["给个说法", "尽快解决", "重视起来", "一查到底"])
        ),
        _ => format!(
            "{}{}。",
            pick(rng, &["盼复", "望回复", "等待答复", "静候佳音"]),
            pick(rng, &["", "，谢谢", "，辛苦了"])
        ),
    }
}

/// A new appeal about a random issue in a random place.
pub fn text(rng: &mut impl Rng, serial: u64) -> Text {
    let template = rng.random_range(0..ISSUES.len());
    let place = rng.random_range(0..PLACES.len());
    compose(rng, serial, template, place, None)
}

/// Another appeal of the same kind in the same place, in other words: a
/// different case in the same building, under the same title (for
/// bridges: a letter about both is linked to each by that title).
pub fn sibling(rng: &mut impl Rng, serial: u64, of: &Text) -> Text {
    compose(rng, serial, of.template, of.place, Some(of))
}

fn compose(rng: &mut impl Rng, serial: u64, template: usize, place_ix: usize, like: Option<&Text>) -> Text {
    let issue = &ISSUES[template];
    let (town, villages) = PLACES[place_ix];
    let (village, spot) = match like {
        Some(t) => (t.village, t.spot.clone()),
        None => (
            *villages.choose(rng).unwrap(),
            format!("{}{}", DETAILS_A.choose(rng).unwrap(), DETAILS_B.choose(rng).unwrap()),
        ),
    };
    let place = format!("{town}{village}");
    // The serial keeps every case's address distinct.
    let detail = format!("{spot}{}", cn_serial(serial));
    let title = match (like, issue.place) {
        (Some(t), _) => t.title.clone(),
        (None, Place::Daye) => titled(rng, issue.title, village, &spot),
        (None, _) => issue.title.to_owned(),
    };
    let (town, address) = match issue.place {
        Place::Daye => (Some(town), format!("大冶市{place}{detail}")),
        Place::Outside(a) => (None, format!("{a}{detail}")),
        Place::Nowhere => (None, String::new()),
    };
    let body = issue.bodies.choose(rng).unwrap().replace("{p}", &place).replace("{d}", &detail);
    let voice = issue.voice();
    let mut content = String::new();
    if voice != Voice::Alarm && rng.random_bool(0.8) {
        content.push_str(&format!("{}{}的{}，", pick(rng, WHO_AM_I), estate(rng), pick(rng, RESIDENT)));
    }
    content.push_str(&body);
    match voice {
        Voice::Complaint => {
            for (p, part) in [(0.7, 0), (0.7, 1), (0.6, 2), (0.9, 3)] {
                if rng.random_bool(p) {
                    content.push_str(&match part {
                        0 => since(rng),
                        1 => history(rng),
                        2 => impact(rng),
                        _ => close(rng),
                    });
                }
            }
        }
        Voice::Question => content.push_str(&format!(
            "{}{}，{}。",
            pick(rng, &["麻烦", "劳烦", "烦请"]),
            pick(rng, &["告知一下", "答复一下", "给个准信", "回复一下"]),
            pick(rng, &["辛苦了", "多谢", "感激不尽"])
        )),
        Voice::Praise => content.push_str(&format!(
            "{}{}，{}{}{}。",
            pick(rng, &["特此", "在此"]),
            pick(rng, &["表扬", "致谢", "点赞"]),
            pick(rng, &["希望", "愿"]),
            pick(rng, &["这样的好作风", "他们的热情服务", "这种办事效率"]),
            pick(rng, &["继续发扬", "保持下去", "多多推广"])
        )),
        Voice::Alarm => {}
    }
    Text {
        category: issue.category,
        type_code: issue.type_code,
        title,
        content,
        town,
        address,
        scope: issue.scope,
        template,
        place: place_ix,
        village,
        spot,
    }
}

/// The title a hotline operator or a citizen gives a case: mostly where it
/// is and what, as in real messages (of the 4,326 in
/// `teddycup2020c/hotspot_messages.csv`, 4,209 titles are distinct); one
/// in ten only says what.
fn titled(rng: &mut impl Rng, issue: &str, village: &str, spot: &str) -> String {
    match rng.random_range(0..10) {
        0 => issue.to_owned(),
        1..=3 => format!("{village}{issue}"),
        4..=5 => format!("关于{village}{spot}{issue}的问题"),
        _ => format!("{village}{spot}{issue}"),
    }
}

// No shop here is a category's cue word (超市, 药店, 诊所 would be).
const SHOPS: &[&str] = &[
    "五金店",
    "餐馆",
    "理发店",
    "早餐店",
    "水果店",
    "修车铺",
    "茶楼",
    "面馆",
    "粮油店",
    "服装店",
    "书店",
    "花店",
    "杂货铺",
    "裁缝铺",
];
const NEAR: &[&str] = &["旁边是", "对面是", "隔壁是", "斜对面有", "后面是", "附近有"];

/// One more sentence of landmarks (两家店名), which makes a text more its
/// own: the simulators add these until a case is apart from the others.
pub fn add_landmark(rng: &mut impl Rng, t: &mut Text) {
    let name = |rng: &mut dyn rand::RngCore| format!("{}{}{}", pick(rng, ESTATE_A), pick(rng, ESTATE_B), pick(rng, SHOPS));
    let (a, b) = (name(rng), name(rng));
    t.content.push_str(&format!("{}{a}，{}{b}。", pick(rng, NEAR), pick(rng, NEAR)));
}

/// A short address suffix such as `（3单元402室）` unique for each serial.
fn cn_serial(serial: u64) -> String {
    format!("（{}单元{}室）", serial % 9 + 1, serial / 9 + 101)
}

const GREETINGS: &[&str] = &["您好，", "领导您好，", "尊敬的领导：", "你好，"];
const AGAIN: &[&str] = &[
    "这个问题之前已经反映过了，到现在还是老样子。",
    "上次反映以后一直没有人来处理，只好再说一遍。",
    "又来反映了，",
    "再次反映：",
];
const ME_TOO: &[&str] = &[
    "我也要反映这个问题。",
    "邻居已经反映过，我再补充一下：",
    "我们这边也是这样，",
    "同样的情况，",
];
const TYPOS: &[(char, char)] = &[('的', '得'), ('在', '再'), ('已', '以'), ('到', '倒'), ('很', '狠'), ('做', '作')];

/// The same appeal as its citizen, or a neighbour, retells it: a
/// greeting, a word on earlier inaction, sentences reordered or dropped,
/// other punctuation, a typo. Applies 1-3 of these at random.
pub fn reword(rng: &mut impl Rng, t: &Text, same_citizen: bool) -> Text {
    let mut sentences = split_sentences(&t.content);
    let ops = rng.random_range(1..=3);
    let mut prefix = String::new();
    for _ in 0..ops {
        match rng.random_range(0..6) {
            0 => prefix.insert_str(0, pick(rng, GREETINGS)),
            1 => prefix.push_str(pick(rng, if same_citizen { AGAIN } else { ME_TOO })),
            2 if sentences.len() >= 2 => {
                let i = rng.random_range(0..sentences.len() - 1);
                sentences.swap(i, i + 1);
            }
            3 if sentences.len() >= 3 => {
                let i = rng.random_range(1..sentences.len());
                sentences.remove(i);
            }
            4 => {
                for s in &mut sentences {
                    *s = s.replace('，', ",").replace('。', ".").replace('？', "?").replace('！', "!");
                }
            }
            _ => {
                let (from, to) = TYPOS[rng.random_range(0..TYPOS.len())];
                if let Some(s) = sentences.iter_mut().find(|s| s.contains(from)) {
                    *s = s.replacen(from, &to.to_string(), 1);
                }
            }
        }
    }
    Text {
        content: format!("{prefix}{}", sentences.concat()),
        ..t.clone()
    }
}

/// The same text typed with half-width punctuation.
pub fn repunctuate(t: &Text) -> Text {
    Text {
        content: t
            .content
            .replace('，', ",")
            .replace('。', ".")
            .replace('？', "?")
            .replace('！', "!"),
        ..t.clone()
    }
}

/// One letter about two cases at once: it bridges their clusters.
pub fn joined(a: &Text, b: &Text) -> Text {
    Text {
        content: format!("{}另外，{}", a.content, b.content),
        ..a.clone()
    }
}

fn split_sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        cur.push(c);
        if matches!(c, '。' | '！' | '？') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The simulators' own yardstick for "the same text": the Jaccard
/// similarity of character bigrams over letters and digits. It is
/// independent of the gateway's near-duplicate engine, whose verdicts the
/// demo checks against what the simulators planned.
#[derive(Debug, Clone)]
pub struct Bigrams {
    /// Sorted, distinct pairs of (BMP) characters, 16 bits each.
    pairs: Vec<u32>,
    /// How many pairs fall in each of 256 hash cells: the sum of the
    /// smaller counts bounds the common pairs from above, which spares most
    /// comparisons the exact merge.
    cells: Box<[u8; 256]>,
}

impl Bigrams {
    pub fn of(title: &str, content: &str) -> Bigrams {
        let chars: Vec<char> = title.chars().chain(content.chars()).filter_map(canonical).collect();
        let mut pairs: Vec<u32> = chars
            .windows(2)
            .map(|w| ((w[0] as u32 & 0xFFFF) << 16) | (w[1] as u32 & 0xFFFF))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut cells = Box::new([0u8; 256]);
        for p in &pairs {
            let c = &mut cells[(p.wrapping_mul(0x9E37_79B1) >> 24) as usize];
            *c = c.saturating_add(1);
        }
        Bigrams { pairs, cells }
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn similarity(&self, o: &Bigrams) -> f64 {
        let common = self.common(o);
        let union = self.pairs.len() + o.pairs.len() - common;
        if union == 0 { 0.0 } else { common as f64 / union as f64 }
    }

    /// How much of the smaller set lies in the larger.
    pub fn containment(&self, o: &Bigrams) -> f64 {
        let small = self.pairs.len().min(o.pairs.len());
        if small == 0 { 0.0 } else { self.common(o) as f64 / small as f64 }
    }

    /// Whether both the similarity and the containment stay below theirs.
    pub fn apart(&self, o: &Bigrams, similarity: f64, containment: f64) -> bool {
        apart_by((self.len(), &self.cells), (o.len(), &o.cells), similarity, containment, || {
            self.common(o)
        })
    }

    fn common(&self, o: &Bigrams) -> usize {
        common_pairs(&self.pairs, &o.pairs)
    }
}

/// Pairs two sorted, distinct lists have in common.
fn common_pairs(a: &[u32], b: &[u32]) -> usize {
    // Branch-free merge: which side advances is data, not a jump the
    // CPU mispredicts about half the time.
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        common += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    common
}

/// Texts of one kind, each tagged with its group, under a dictionary of
/// their character pairs. Texts of one template share most pairs, so the
/// cell bound often cannot tell them apart; then a candidate's pairs, set
/// as bits over the dictionary, let each member's overlap be counted by
/// lookups, several times faster than merging the two sorted lists.
/// Ids are 16 bits to halve the memory each check streams through; a
/// member with a pair past a full dictionary keeps no ids and is merged.
pub struct Family<G> {
    ids: std::collections::HashMap<u32, u16>,
    /// Cells inline, so a check streams through one array instead of
    /// chasing a pointer per member.
    members: Vec<Member<G>>,
}

/// A member's cells and pairs, taken out of its [`Bigrams`].
struct Member<G> {
    cells: [u8; 256],
    group: G,
    ids: Option<Box<[u16]>>,
    pairs: Vec<u32>,
}

impl<G> Default for Family<G> {
    fn default() -> Self {
        Family {
            ids: std::collections::HashMap::new(),
            members: Vec::new(),
        }
    }
}

impl<G: PartialEq> Family<G> {
    /// Whether `b` is apart from every member whose group is not `group`;
    /// the same verdict as [`Bigrams::apart`] against each.
    pub fn apart(&self, b: &Bigrams, group: &G, similarity: f64, containment: f64) -> bool {
        let mut bits: Option<Vec<u64>> = None;
        self.members.iter().all(|m| {
            m.group == *group
                || apart_by(
                    (b.len(), &b.cells),
                    (m.pairs.len(), &m.cells),
                    similarity,
                    containment,
                    || match &m.ids {
                        Some(ids) => {
                            let bits = bits.get_or_insert_with(|| self.bits_of(b));
                            ids.iter().map(|&i| ((bits[usize::from(i) / 64] >> (i % 64)) & 1) as usize).sum()
                        }
                        None => common_pairs(&b.pairs, &m.pairs),
                    },
                )
        })
    }

    /// `b`'s pairs as bits over the dictionary; pairs no member has are left out.
    fn bits_of(&self, b: &Bigrams) -> Vec<u64> {
        let mut bits = vec![0u64; self.ids.len().div_ceil(64)];
        for i in b.pairs.iter().filter_map(|p| self.ids.get(p)) {
            bits[usize::from(*i) / 64] |= 1 << (i % 64);
        }
        bits
    }

    pub fn add(&mut self, group: G, b: Bigrams) {
        let ids = b
            .pairs
            .iter()
            .map(|p| match self.ids.get(p) {
                Some(i) => Some(*i),
                None => {
                    let next = u16::try_from(self.ids.len()).ok()?;
                    self.ids.insert(*p, next);
                    Some(next)
                }
            })
            .collect();
        self.members.push(Member {
            cells: *b.cells,
            group,
            ids,
            pairs: b.pairs,
        });
    }

    /// Drops the members of `group`; their pairs stay in the dictionary.
    pub fn forget(&mut self, group: &G) {
        self.members.retain(|m| m.group != *group);
    }
}

/// [`Bigrams::apart`] on two sets given by their sizes and cells, with the
/// exact count of common pairs left to `exact`, which is asked only when
/// the cell bound cannot decide.
fn apart_by(
    (a, ca): (usize, &[u8; 256]),
    (b, cb): (usize, &[u8; 256]),
    similarity: f64,
    containment: f64,
    exact: impl FnOnce() -> usize,
) -> bool {
    let fits = |common: usize| {
        let union = a + b - common;
        let small = a.min(b);
        (union == 0 || (common as f64) < similarity * union as f64) && (small == 0 || (common as f64) < containment * small as f64)
    };
    // 256 cells of at most 255 fit a u16 sum, which vectorizes 16 lanes
    // wide; this bound is most of the time a large scenario takes.
    let bound: u16 = ca.iter().zip(cb.iter()).map(|(x, y)| u16::from(*x.min(y))).sum();
    fits(usize::from(bound)) || fits(exact())
}

fn canonical(c: char) -> Option<char> {
    match c {
        '\u{4E00}'..='\u{9FFF}' => Some(c),
        _ if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
        '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
            char::from_u32(c as u32 - 0xFEE0).map(|a| a.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// Rough coordinates inside Daye (114.6–115.2 E, 29.8–30.3 N).
pub fn coordinates(rng: &mut impl Rng) -> (f64, f64) {
    (29.8 + rng.random_range(0.0..0.5), 114.6 + rng.random_range(0.0..0.6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Titles name the place as real ones do, so few are alike; a sibling
    /// case keeps its first case's place and title (a bridge letter is
    /// linked to both by it).
    #[test]
    fn titles_name_the_place_and_siblings_share_theirs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let texts: Vec<Text> = (0..2000).map(|serial| text(&mut rng, serial)).collect();
        let daye: Vec<&Text> = texts.iter().filter(|t| matches!(ISSUES[t.template].place, Place::Daye)).collect();
        let placed = daye.iter().filter(|t| t.title.contains(t.village)).count();
        assert!(
            placed * 10 >= daye.len() * 8,
            "{placed} of {} Daye titles name the place",
            daye.len()
        );
        let distinct: std::collections::HashSet<&str> = daye.iter().map(|t| t.title.as_str()).collect();
        assert!(
            distinct.len() * 2 > daye.len(),
            "{} distinct titles of {}",
            distinct.len(),
            daye.len()
        );
        for t in texts.iter().filter(|t| !matches!(ISSUES[t.template].place, Place::Daye)) {
            assert_eq!(
                t.title, ISSUES[t.template].title,
                "no Daye place in the title of an appeal from elsewhere"
            );
        }
        let first = daye[0];
        let b = sibling(&mut rng, 9999, first);
        assert_eq!(
            (b.title.as_str(), b.village, b.spot.as_str()),
            (first.title.as_str(), first.village, first.spot.as_str())
        );
        assert_ne!(b.address, first.address, "another unit of the same building");
    }

    /// A family's verdict is the pairwise one, for texts of one kind, for
    /// close retellings, and after a text too large for the dictionary.
    #[test]
    fn a_family_judges_as_each_pair_would() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let first = text(&mut rng, 0);
        // Texts of one kind and town, each in a building of its own.
        let mut texts: Vec<Text> = (1..60)
            .map(|serial| compose(&mut rng, serial, first.template, first.place, None))
            .collect();
        let retold: Vec<Text> = (0..20).map(|i| reword(&mut rng, &texts[i], i % 2 == 0)).collect();
        texts.extend(retold);
        // 70,000 distinct pairs overflow the 16-bit dictionary.
        let huge: String = (0..70_000u32)
            .flat_map(|k| [0x4E00 + k / 256, 0x5E00 + k % 256])
            .filter_map(char::from_u32)
            .collect();
        let mut family = Family::default();
        let mut members: Vec<(u64, Bigrams)> = Vec::new();
        let (mut apart, mut close) = (0, 0);
        for (i, t) in texts.iter().enumerate() {
            if i == 40 {
                let b = Bigrams::of("", &huge);
                assert!(b.len() > 65_536, "{} pairs", b.len());
                family.add(999, b.clone());
                members.push((999, b));
                assert!(family.members.last().unwrap().ids.is_none(), "the huge text has no ids");
            }
            let b = Bigrams::of(&t.title, &t.content);
            let group = (i % 7) as u64;
            let want = members.iter().all(|(g, o)| *g == group || b.apart(o, 0.35, 0.7));
            assert_eq!(family.apart(&b, &group, 0.35, 0.7), want, "text {i}");
            if want {
                apart += 1
            } else {
                close += 1
            }
            family.add(group, b.clone());
            members.push((group, b));
        }
        assert!(apart > 5 && close > 5, "both verdicts are exercised: {apart} apart, {close} close");
        family.forget(&3);
        members.retain(|(g, _)| *g != 3);
        let b = Bigrams::of(&texts[3].title, &texts[3].content);
        assert_eq!(
            family.apart(&b, &0, 0.35, 0.7),
            members.iter().all(|(g, o)| *g == 0 || b.apart(o, 0.35, 0.7))
        );
    }
}
