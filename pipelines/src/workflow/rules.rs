//! The deadlines of the city's rules, in working days, from `[workflow]`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Sign within this many working days of dispatch.
    pub sign_workdays: u32,
    /// A unit that is not responsible returns the order within this many
    /// working days of dispatch, with a written reason.
    pub return_workdays: u32,
    /// Reply within this many working days of signing.
    pub reply_workdays: u32,
    /// Extensions never take the reply beyond this many working days from
    /// dispatch.
    pub max_workdays: u32,
    /// 挂账: a long-running matter put on account gets a target date within
    /// this many working days of dispatch (beyond the reply deadline by
    /// design, but not open-ended).
    #[serde(default = "on_account_default")]
    pub max_on_account_workdays: u32,
    /// A unit that reworks an order after an unsatisfied return visit
    /// replies within this many working days.
    pub rework_workdays: u32,
    /// 即来即办: categories replied to on the working day they are signed.
    pub immediate_categories: Vec<String>,
    /// When the SLA sweep runs (cron, with seconds).
    pub sweep_schedule: String,
}

fn on_account_default() -> u32 {
    120
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            sign_workdays: 1,
            return_workdays: 2,
            reply_workdays: 5,
            max_workdays: 30,
            max_on_account_workdays: on_account_default(),
            rework_workdays: 5,
            immediate_categories: Vec::new(),
            sweep_schedule: "0 */5 * * * *".into(),
        }
    }
}

impl Rules {
    /// Problems, each naming its key under `prefix`.
    pub fn check(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (key, v) in [
            ("sign_workdays", self.sign_workdays),
            ("reply_workdays", self.reply_workdays),
            ("rework_workdays", self.rework_workdays),
            ("max_workdays", self.max_workdays),
            ("max_on_account_workdays", self.max_on_account_workdays),
        ] {
            if v == 0 {
                out.push(format!("{prefix}.{key}: must be at least 1 working day"));
            }
        }
        if self.return_workdays > self.max_workdays {
            out.push(format!(
                "{prefix}.return_workdays: {} is beyond max_workdays ({})",
                self.return_workdays, self.max_workdays
            ));
        }
        if self.reply_workdays > self.max_workdays {
            out.push(format!(
                "{prefix}.reply_workdays: {} is beyond max_workdays ({})",
                self.reply_workdays, self.max_workdays
            ));
        }
        for (i, c) in self.immediate_categories.iter().enumerate() {
            if c.trim().is_empty() {
                out.push(format!("{prefix}.immediate_categories[{i}]: empty"));
            }
        }
        out
    }

    pub fn immediate(&self, category: Option<&str>) -> bool {
        category.is_some_and(|c| self.immediate_categories.iter().any(|x| x == c))
    }
}
