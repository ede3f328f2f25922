//! Finer places than the gazetteer's towns, read from an appeal's own
//! words: a name that ends in a place word (小区, 花园, 路, 村, 学校, 市场,
//! 公司…). Walking back from the place word over the characters of a name
//! gives `桂香新城` in `松岭街道桂香新城的搅拌站`; an administrative prefix
//! (市, 区, 县, 街道, 镇, 乡) is cut off, since a district is too wide to
//! be "one place", and a bare `我们小区` or `该路段` gives nothing.

/// Place words, longest first so `幼儿园` wins over `园`.
const SUFFIXES: &[&str] = &[
    "幼儿园",
    "小区",
    "花园",
    "家园",
    "新城",
    "公馆",
    "公寓",
    "大厦",
    "广场",
    "市场",
    "公园",
    "学校",
    "小学",
    "中学",
    "大学",
    "学院",
    "医院",
    "社区",
    "大道",
    "公司",
    "集团",
    "工厂",
    "项目",
    "楼盘",
    "车站",
    "景区",
    "商场",
    "酒店",
    "园区",
    "村",
    "路",
    "街",
    "苑",
    "城",
    "湾",
    "府",
    "园",
    "厂",
    // Named schemes and lenders, whose victims are one group of people:
    // 66车贷, 鑫易贷.
    "贷",
];

/// Characters that end a name when walking back: function words, verbs
/// and pronouns that come before a place in a sentence.
const STOPS: &str = "的在是了和与及对于我们你他她它这那该本此其个位到从向把被给让请问求关反映投诉举报咨询建议希望要求为因就都也又没不很附近周围导致排入进去过将已再仍需想使令而且但并或等、，。,.!?！？：:；;（）()【】[]《》<>“”\"' \t\n";

/// Administrative words a name is cut after (`A2区松岭街道桂香新城` →
/// `桂香新城`).
const ADMIN: &[&str] = &["街道", "市", "区", "县", "镇", "乡", "省"];

/// Words that end in a place word without being places (跑路: absconded).
const NOT_PLACES: &[&str] = &[
    "跑路",
    "走路",
    "思路",
    "出路",
    "套路",
    "线路",
    "门路",
    "退路",
    "弯路",
    "一路",
    "道路",
    "马路",
    "网站",
    "花园式",
    "政府",
    "网贷",
    "房贷",
    "车贷贷",
    "借贷",
    "信贷",
    "放贷",
    "助贷",
];

/// A place word followed by one of these starts another word instead
/// (路灯, 村民, 城管, 市场监管): not a place.
const NOT_BEFORE: &[(&str, &str)] = &[
    ("路", "灯面边段况基肩牌标"),
    ("街", "头边坊道"),
    ("村", "民委干务庄"),
    ("城", "管区市乡建"),
    ("市场", "监管价"),
    ("厂", "房家区商"),
    ("园", "林区艺"),
    ("湾", "区"),
    ("社区", "居工"),
];

/// Words that say where without naming a place (外地小区: "a compound
/// elsewhere").
const GENERIC: &[&str] = &[
    "外地",
    "本地",
    "当地",
    "我家",
    "家门口",
    "门口",
    "楼下",
    "对面",
    "隔壁",
    "这条",
    "那条",
    "一个",
    "某",
];

/// Names this long at most, besides the place word.
const MAX_NAME: usize = 8;

/// The places named in `text`, in order, without repeats.
pub fn places(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    // A name does not reach back into the place before it.
    let mut floor = 0;
    while i < chars.len() {
        // `街道` is a district, not the place word `街`.
        if let Some(a) = ADMIN.iter().find(|a| a.chars().count() > 1 && starts_with(&chars[i..], a)) {
            i += a.chars().count();
            floor = i;
            continue;
        }
        let Some(suffix) = SUFFIXES.iter().find(|s| starts_with(&chars[i..], s)) else {
            i += 1;
            continue;
        };
        let end = i + suffix.chars().count();
        if !is_place_word(&chars, i, suffix) {
            i += 1;
            continue;
        }
        // A district named after a road (东风路街道) is a district.
        if district_next(&chars[end..]) {
            i = end;
            continue;
        }
        let Some(name) = name_before(&chars[floor..], i - floor) else {
            i = end;
            continue;
        };
        let place = format!("{name}{suffix}");
        i = end;
        if NOT_PLACES.iter().any(|w| place.ends_with(w)) || GENERIC.contains(&name.as_str()) {
            continue;
        }
        if !out.contains(&place) {
            out.push(place);
        }
        floor = end;
    }
    out
}

/// Whether the place word `suffix` at `at` ends a name rather than
/// starting another word (路灯, 村民, 城管).
fn is_place_word(chars: &[char], at: usize, suffix: &str) -> bool {
    let next = chars.get(at + suffix.chars().count()).copied().unwrap_or(' ');
    !NOT_BEFORE.iter().any(|(w, after)| *w == suffix && after.contains(next))
}

/// Whether `chars` starts with the end of a district's name (街道, 镇, 乡):
/// the place word before it is part of that name. Not 市 or 区, which
/// start words as often (小区市民, 街区).
fn district_next(chars: &[char]) -> bool {
    ["街道", "镇", "乡"].iter().any(|w| starts_with(chars, w))
}

fn starts_with(chars: &[char], s: &str) -> bool {
    let mut it = chars.iter();
    s.chars().all(|c| it.next() == Some(&c))
}

/// The name ending just before `at`, cut after any administrative word;
/// `None` when fewer than two characters of name are left.
fn name_before(chars: &[char], at: usize) -> Option<String> {
    let mut start = at;
    while start > 0 && at - start < MAX_NAME + 4 {
        let c = chars[start - 1];
        if STOPS.contains(c) {
            break;
        }
        start -= 1;
    }
    let mut name: String = chars[start..at].iter().collect();
    // Cut after the last administrative word inside the name.
    if let Some((pos, len)) = ADMIN
        .iter()
        .filter_map(|a| name.rfind(a).map(|p| (p, a.len())))
        .max_by_key(|(p, _)| *p)
    {
        name = name[pos + len..].to_owned();
    }
    // Too long a run is a sentence, not a name: keep its end.
    let n = name.chars().count();
    if n > MAX_NAME {
        name = name.chars().skip(n - MAX_NAME).collect();
    }
    // Two characters at least, not all digits (`66车贷` is a name, `3号` is not).
    let letters = name.chars().filter(|c| !c.is_ascii_digit()).count();
    (name.chars().count() >= 2 && letters >= 1 && !(letters == 1 && name.chars().count() > 3)).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::places;

    #[test]
    fn names_before_place_words_without_districts_or_pronouns() {
        assert_eq!(places("松岭街道桂香新城附近的搅拌站噪音大"), ["桂香新城"]);
        assert_eq!(places("反映A7县春华镇金鼎村水泥路到户的问题"), ["金鼎村", "水泥路"]);
        assert_eq!(places("我们小区门口的路灯坏了"), Vec::<String>::new());
        assert_eq!(places("关于东方红幼儿园收费"), ["东方红幼儿园"]);
        assert_eq!(places("金湖街道桂花园小区停车难"), ["桂花园小区"]);
        assert_eq!(places("A市66车贷恶性退出，老板跑路"), ["66车贷"]);
        assert_eq!(places("鑫易贷平台受害人"), ["鑫易贷"]);
        assert_eq!(places("镇人民政府门口"), Vec::<String>::new());
        assert_eq!(places("小区门口路灯不亮，表扬市场监管所"), Vec::<String>::new());
        assert_eq!(places("外地小区施工噪音"), Vec::<String>::new());
        // A district named after a road is no place.
        assert_eq!(places("东风路街道车站社区12号楼"), ["车站社区"]);
        assert_eq!(places("桂花园小区市民用水难"), ["桂花园小区"]);
        // A road in general is no one place.
        assert_eq!(places("货车超载损坏道路"), Vec::<String>::new());
    }
}
