//! The work-order state machine. [`Order::apply`] takes one action by one
//! actor at one time and either returns the new order with the event to
//! record, or refuses with the rule that forbids it. [`Order::sweep`] is
//! the SLA check a scheduler runs: overdue events, phone supervision, then
//! written supervision, then a clue transfer, each once per deadline.
//!
//! Deadlines are dates: an order signed on its due date is on time, and
//! it is overdue from the next day. Every date comes from the working-day
//! calendar; one counted on the weekday rule (a year without data) marks
//! the order `provisional` until it is recomputed.

use super::Rules;
use crate::calendar::Calendar;
use crate::ticket::EventType;
pub use crate::ticket::order::{ALL_STATES, Action, Actor, Effect, Order, Role, Satisfaction, State, Supervision};
use chrono::{DateTime, FixedOffset, NaiveDate};
use uuid::Uuid;

/// Why an action was refused. `kind` maps to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// A stable id of the rule, e.g. `return_within_2_workdays`.
    pub rule: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The actor may not do this to this order (403).
    Forbidden,
    /// Not in the order's present state, or past a deadline (409).
    Conflict,
    /// The action itself is incomplete (422).
    Invalid,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.rule)
    }
}

fn refuse(kind: RefusalKind, rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        kind,
        rule,
        message: message.into(),
    }
}

/// An accepted action: the order after it, the event to record, and what
/// it set off.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub order: Order,
    pub event: EventType,
    pub from: State,
    pub effects: Vec<Effect>,
}

/// What a sweep found on one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Overdue {
    pub order: Order,
    /// `sign_overdue` or `reply_overdue`.
    pub event: EventType,
    pub due: NaiveDate,
    pub effects: Vec<Effect>,
}

/// Local (Asia/Shanghai) date of a time.
fn local_date(t: &DateTime<FixedOffset>) -> NaiveDate {
    t.with_timezone(&minqing_connectors::timefmt::shanghai()).date_naive()
}

/// Counts working days and remembers whether any count fell back on the
/// weekday rule.
/// What one transition works with: when, the calendar and rules, the
/// deadlines counted so far (provisional or not) and what it set off.
struct Step<'a> {
    at: DateTime<FixedOffset>,
    today: NaiveDate,
    cal: &'a Calendar,
    rules: &'a Rules,
    days: Days<'a>,
    effects: Vec<Effect>,
}

struct Days<'a> {
    cal: &'a Calendar,
    provisional: bool,
}

impl Days<'_> {
    fn add(&mut self, d: NaiveDate, n: u32) -> NaiveDate {
        let (date, p) = self.cal.add_workdays(d, n);
        self.provisional |= p;
        date
    }

    /// Sign deadline, last day to return, and the extension cap of an
    /// order dispatched on `day`.
    fn on_dispatch(&mut self, day: NaiveDate, rules: &Rules) -> (NaiveDate, NaiveDate, NaiveDate) {
        (
            self.add(day, rules.sign_workdays),
            self.add(day, rules.return_workdays),
            self.add(day, rules.max_workdays),
        )
    }

    /// Reply deadline of an order signed on `day`; 即来即办 categories
    /// are due the working day they are signed (or the next one).
    fn on_sign(&mut self, day: NaiveDate, category: Option<&str>, rules: &Rules) -> NaiveDate {
        if !rules.immediate(category) {
            self.add(day, rules.reply_workdays)
        } else if self.cal.day(day).workday {
            day
        } else {
            self.add(day, 1)
        }
    }
}

impl Order {
    /// A new order in the centre's queue, or dispatched to `unit` at `at`.
    pub fn new(ticket_id: Uuid, channel: minqing_connectors::Channel, category: Option<String>) -> Order {
        Order {
            ticket_id,
            channel,
            state: State::AwaitingDispatch,
            unit: None,
            category,
            dispatched_at: None,
            sign_due: None,
            return_until: None,
            signed_at: None,
            reply_due: None,
            limit: None,
            extension_pending: None,
            extended_workdays: 0,
            returned_by: Vec::new(),
            unsatisfied_visits: 0,
            confirmed_unsatisfied: 0,
            deducted: false,
            supervision: None,
            clue_transferred: false,
            sign_overdue_for: None,
            reply_overdue_for: None,
            provisional: false,
            version: 0,
            record: Default::default(),
        }
    }

    /// The deadline the order owes now: to sign, or to reply.
    pub fn due(&self) -> Option<NaiveDate> {
        match self.state {
            State::Dispatched => self.sign_due,
            s if s.awaits_reply() => self.reply_due,
            _ => None,
        }
    }

    /// [`Order::due`] while it has not been reported overdue: what the
    /// sweep looks at.
    pub fn open_due(&self) -> Option<NaiveDate> {
        let reported = match self.state {
            State::Dispatched => self.sign_overdue_for,
            _ => self.reply_overdue_for,
        };
        self.due().filter(|d| reported != Some(*d))
    }

    /// Applies `action` by `actor` at `at`, or says which rule refuses it.
    pub fn apply(
        &self,
        action: &Action,
        actor: &Actor,
        at: DateTime<FixedOffset>,
        cal: &Calendar,
        rules: &Rules,
    ) -> Result<Transition, Refusal> {
        self.permitted(action, actor)?;
        let mut o = self.clone();
        let mut cx = Step {
            at,
            today: local_date(&at),
            cal,
            rules,
            days: Days { cal, provisional: false },
            effects: Vec::new(),
        };
        match action {
            Action::Dispatch { unit } => self.on_dispatch(&mut o, &mut cx, unit)?,
            Action::Sign => self.on_sign(&mut o, &mut cx)?,
            Action::Return { reason } => self.on_return(&mut o, &mut cx, reason)?,
            Action::Reply { text } => self.on_reply(&mut o, &mut cx, text)?,
            Action::OnAccount { plan, target } => self.on_put_on_account(&mut o, &mut cx, plan, target)?,
            Action::RequestExtension { workdays, reason } => self.on_request_extension(&mut o, &mut cx, workdays, reason)?,
            Action::GrantExtension { workdays } => self.on_grant_extension(&mut o, &mut cx, workdays)?,
            Action::Visit { trust, satisfaction, .. } => self.on_visit(&mut o, &mut cx, trust, satisfaction)?,
            Action::RequestDeduction { reason, approved_by } => self.on_request_deduction(&mut o, &mut cx, reason, approved_by)?,
            Action::DecideDeduction { approve, reason } => self.on_decide_deduction(&mut o, &mut cx, approve, reason)?,
            Action::Close => self.on_close(&mut o, &mut cx)?,
        }
        o.provisional |= cx.days.provisional;
        o.record.note(action, at);
        o.version += 1;
        Ok(Transition {
            order: o,
            event: action.event_type(),
            from: self.state,
            effects: cx.effects,
        })
    }

    /// Refuses to `what` the order unless its state allows it (`ok`).
    fn only_if(&self, ok: bool, what: &str) -> Result<(), Refusal> {
        if ok { Ok(()) } else { Err(self.wrong_state(what)) }
    }

    fn wrong_state(&self, what: &str) -> Refusal {
        refuse(
            RefusalKind::Conflict,
            "state",
            format!("cannot {what} an order that is {}", self.state.id()),
        )
    }

    /// To a unit: deadlines to sign, to return and the limit start.
    fn on_dispatch(&self, o: &mut Order, cx: &mut Step<'_>, unit: &str) -> Result<(), Refusal> {
        use RefusalKind::*;
        let today = cx.today;
        self.only_if(self.state == State::AwaitingDispatch, "dispatch")?;
        if unit.trim().is_empty() {
            return Err(refuse(Invalid, "dispatch_unit", "dispatch needs the unit's code"));
        }
        if self.returned_by.iter().any(|u| u == unit) {
            return Err(refuse(
                Conflict,
                "not_back_to_returning_unit",
                format!("{unit} returned this order already; dispatch it to another unit"),
            ));
        }
        o.state = State::Dispatched;
        o.unit = Some(unit.to_owned());
        o.dispatched_at = Some(cx.at);
        let (sign, ret, limit) = cx.days.on_dispatch(today, cx.rules);
        o.sign_due = Some(sign);
        o.return_until = Some(ret);
        o.limit = Some(limit);
        o.signed_at = None;
        o.reply_due = None;
        o.extension_pending = None;
        o.extended_workdays = 0;
        o.sign_overdue_for = None;
        o.reply_overdue_for = None;
        Ok(())
    }

    /// The unit takes it on; the reply is due on its category's clock.
    fn on_sign(&self, o: &mut Order, cx: &mut Step<'_>) -> Result<(), Refusal> {
        let today = cx.today;
        self.only_if(self.state == State::Dispatched, "sign")?;
        o.state = State::Signed;
        o.signed_at = Some(cx.at);
        o.reply_due = Some(cx.days.on_sign(today, self.category.as_deref(), cx.rules));
        Ok(())
    }

    /// Back to the centre, within the return window; a second unit returning it sets off a clue transfer.
    fn on_return(&self, o: &mut Order, cx: &mut Step<'_>, reason: &str) -> Result<(), Refusal> {
        use RefusalKind::*;
        let today = cx.today;
        self.only_if(matches!(self.state, State::Dispatched | State::Signed), "return")?;
        if reason.trim().is_empty() {
            return Err(refuse(Invalid, "return_reason", "a return needs a written reason"));
        }
        if let Some(until) = self.return_until
            && today > until
        {
            return Err(refuse(
                Conflict,
                "return_within_2_workdays",
                format!(
                    "an order may be returned within {} working days of dispatch, until {until}; today is {today}",
                    cx.rules.return_workdays
                ),
            ));
        }
        let unit = self.unit.clone().unwrap_or_default();
        if !o.returned_by.contains(&unit) {
            o.returned_by.push(unit);
        }
        o.state = State::AwaitingDispatch;
        o.unit = None;
        o.sign_due = None;
        o.reply_due = None;
        o.return_until = None;
        if o.returned_by.len() == 2 && !o.clue_transferred {
            o.clue_transferred = true;
            cx.effects.push(Effect::ClueTransfer {
                trigger: format!("returned by two units: {}", o.returned_by.join(", ")),
            });
        }
        Ok(())
    }

    /// The unit answers.
    fn on_reply(&self, o: &mut Order, _cx: &mut Step<'_>, text: &str) -> Result<(), Refusal> {
        use RefusalKind::*;
        self.only_if(self.state.awaits_reply(), "reply to")?;
        if text.trim().is_empty() {
            return Err(refuse(Invalid, "reply_text", "a reply needs its text"));
        }
        o.state = State::Replied;
        o.extension_pending = None;
        Ok(())
    }

    /// Put on account (挂账) with a plan and a target date within the cap.
    fn on_put_on_account(&self, o: &mut Order, cx: &mut Step<'_>, plan: &str, target: &NaiveDate) -> Result<(), Refusal> {
        use RefusalKind::*;
        let today = cx.today;
        self.only_if(self.state == State::Signed, "put on account")?;
        if plan.trim().is_empty() {
            return Err(refuse(
                Invalid,
                "on_account_plan",
                "putting an order on account needs a resolution plan",
            ));
        }
        if *target <= today {
            return Err(refuse(
                Invalid,
                "on_account_target",
                format!("the target date {target} must be after today ({today})"),
            ));
        }
        let from = self.dispatched_at.map_or(today, |d| d.date_naive());
        let (latest, _) = cx.cal.add_workdays(from, cx.rules.max_on_account_workdays);
        if *target > latest {
            return Err(refuse(
                Invalid,
                "on_account_within_limit",
                format!(
                    "the target date {target} is beyond {latest}, {} working days from dispatch (workflow.max_on_account_workdays)",
                    cx.rules.max_on_account_workdays
                ),
            ));
        }
        o.state = State::OnAccount;
        o.reply_due = Some(*target);
        Ok(())
    }

    /// The unit asks for more working days, within the limit.
    fn on_request_extension(&self, o: &mut Order, cx: &mut Step<'_>, workdays: &u32, reason: &str) -> Result<(), Refusal> {
        use RefusalKind::*;
        self.only_if(matches!(self.state, State::Signed | State::OnAccount), "extend")?;
        if *workdays == 0 || reason.trim().is_empty() {
            return Err(refuse(
                Invalid,
                "extension_request",
                "an extension needs a number of working days and a reason",
            ));
        }
        if self.extension_pending.is_some() {
            return Err(refuse(
                Conflict,
                "one_extension_at_a_time",
                "an extension request is pending already",
            ));
        }
        self.within_limit(*workdays, cx.cal, cx.rules)?;
        o.extension_pending = Some(*workdays);
        Ok(())
    }

    /// The centre grants the pending request, or fewer days.
    fn on_grant_extension(&self, o: &mut Order, cx: &mut Step<'_>, workdays: &Option<u32>) -> Result<(), Refusal> {
        use RefusalKind::*;
        let Some(asked) = self.extension_pending else {
            return Err(refuse(Conflict, "extension_pending", "no extension request is pending"));
        };
        let n = workdays.unwrap_or(asked);
        if n == 0 || n > asked {
            return Err(refuse(
                Invalid,
                "extension_grant",
                format!("grant between 1 and the {asked} working days asked"),
            ));
        }
        let due = self.within_limit(n, cx.cal, cx.rules)?;
        o.reply_due = Some(due);
        o.extended_workdays += n;
        o.extension_pending = None;
        Ok(())
    }

    /// The return visit: satisfied closes the way, unsatisfied sends it back to rework.
    fn on_visit(&self, o: &mut Order, cx: &mut Step<'_>, trust: &u8, satisfaction: &Satisfaction) -> Result<(), Refusal> {
        use RefusalKind::*;
        let today = cx.today;
        self.only_if(self.state == State::Replied, "visit")?;
        if !(1..=5).contains(trust) {
            return Err(refuse(Invalid, "visit_trust", "trust is rated 1 to 5"));
        }
        if *satisfaction == Satisfaction::Unsatisfied {
            // Sent back to the unit in writing, to rework.
            o.state = State::Reassigned;
            o.unsatisfied_visits += 1;
            o.reply_due = Some(cx.days.add(today, cx.rules.rework_workdays));
        } else {
            o.state = State::Visited;
        }
        Ok(())
    }

    /// The unit asks for a deduction (核减), approved by its head.
    fn on_request_deduction(&self, o: &mut Order, _cx: &mut Step<'_>, reason: &str, approved_by: &str) -> Result<(), Refusal> {
        use RefusalKind::*;
        self.only_if(matches!(self.state, State::Reassigned), "request a deduction for")?;
        if reason.trim().is_empty() || approved_by.trim().is_empty() {
            return Err(refuse(
                Invalid,
                "deduction_request",
                "a deduction request needs its reason and the unit head who approved it",
            ));
        }
        o.state = State::DeductionRequested;
        Ok(())
    }

    /// The centre decides: granted closes it, refused is written supervision (and a clue transfer the second time).
    fn on_decide_deduction(&self, o: &mut Order, cx: &mut Step<'_>, approve: &bool, reason: &str) -> Result<(), Refusal> {
        use RefusalKind::*;
        let today = cx.today;
        self.only_if(self.state == State::DeductionRequested, "decide a deduction for")?;
        if reason.trim().is_empty() {
            return Err(refuse(Invalid, "deduction_reason", "a deduction decision needs its reason"));
        }
        if *approve {
            o.state = State::Closed;
            o.deducted = true;
        } else {
            o.state = State::ConfirmedUnsatisfied;
            o.confirmed_unsatisfied += 1;
            o.reply_due = Some(cx.days.add(today, cx.rules.rework_workdays));
            o.supervision = Some(Supervision::Written);
            cx.effects.push(Effect::Supervised {
                level: Supervision::Written,
                trigger: "confirmed unsatisfied; copied to the discipline commission".into(),
            });
            if o.confirmed_unsatisfied >= 2 && !o.clue_transferred {
                o.clue_transferred = true;
                cx.effects.push(Effect::ClueTransfer {
                    trigger: "confirmed unsatisfied twice".into(),
                });
            }
        }
        Ok(())
    }

    /// Closed after a satisfied return visit.
    fn on_close(&self, o: &mut Order, _cx: &mut Step<'_>) -> Result<(), Refusal> {
        use RefusalKind::*;
        if self.state != State::Visited {
            return Err(refuse(
                Conflict,
                "close_after_visit",
                format!("an order is closed after a satisfied return visit; it is {}", self.state.id()),
            ));
        }
        o.state = State::Closed;
        Ok(())
    }

    /// The reply due date `n` more working days would give, if within the
    /// limit from dispatch.
    fn within_limit(&self, n: u32, cal: &Calendar, rules: &Rules) -> Result<NaiveDate, Refusal> {
        let due = self
            .reply_due
            .ok_or_else(|| refuse(RefusalKind::Conflict, "state", "the order has no reply deadline"))?;
        let (after, _) = cal.add_workdays(due, n);
        match self.limit {
            Some(limit) if after > limit => Err(refuse(
                RefusalKind::Conflict,
                "extension_within_30_workdays",
                format!(
                    "{n} more working days would move the reply to {after}, beyond {limit}, {} working days from dispatch",
                    rules.max_workdays
                ),
            )),
            _ => Ok(after),
        }
    }

    fn permitted(&self, action: &Action, actor: &Actor) -> Result<(), Refusal> {
        use RefusalKind::Forbidden;
        match actor.role {
            Role::Analyst => Err(refuse(Forbidden, "role", "analysts read only")),
            Role::Unit if !action.by_unit() => Err(refuse(
                Forbidden,
                "role",
                format!("a unit cannot {:?}; the hotline centre does", action.event_type().id()),
            )),
            Role::Unit if actor.unit.is_none() || actor.unit != self.unit => Err(refuse(
                Forbidden,
                "own_orders_only",
                "a unit acts only on the orders dispatched to it",
            )),
            _ => Ok(()),
        }
    }

    /// The SLA check on `today`: an order past its sign or reply deadline
    /// is reported once per deadline. The first time it is supervised by
    /// phone (recorded); overdue again after that, written supervision is
    /// proposed; overdue again after written supervision, a clue transfer.
    pub fn sweep(&self, today: NaiveDate) -> Option<Overdue> {
        let (event, due) = match self.state {
            State::Dispatched => (EventType::SignOverdue, self.sign_due?),
            s if s.awaits_reply() => (EventType::ReplyOverdue, self.reply_due?),
            _ => return None,
        };
        let reported = match event {
            EventType::SignOverdue => self.sign_overdue_for,
            _ => self.reply_overdue_for,
        };
        if today <= due || reported == Some(due) {
            return None;
        }
        let mut o = self.clone();
        match event {
            EventType::SignOverdue => o.sign_overdue_for = Some(due),
            _ => o.reply_overdue_for = Some(due),
        }
        let what = if event == EventType::SignOverdue { "sign" } else { "reply" };
        let mut effects = Vec::new();
        match self.supervision {
            None => {
                o.supervision = Some(Supervision::Phone);
                effects.push(Effect::Supervised {
                    level: Supervision::Phone,
                    trigger: format!("{what} overdue since {due}"),
                });
            }
            Some(Supervision::Phone) => {
                o.supervision = Some(Supervision::Written);
                effects.push(Effect::Supervised {
                    level: Supervision::Written,
                    trigger: format!("{what} overdue again (due {due}) after phone supervision"),
                });
            }
            Some(Supervision::Written) if !self.clue_transferred => {
                o.clue_transferred = true;
                effects.push(Effect::ClueTransfer {
                    trigger: format!("still unsolved after written supervision ({what} due {due})"),
                });
            }
            Some(Supervision::Written) => {}
        }
        o.version += 1;
        Some(Overdue {
            order: o,
            event,
            due,
            effects,
        })
    }

    /// Deadlines counted again on the calendar, for an order marked
    /// `provisional` once its year's data is loaded.
    pub fn recompute(&self, cal: &Calendar, rules: &Rules) -> Order {
        let mut o = self.clone();
        let mut days = Days { cal, provisional: false };
        if let Some(at) = self.dispatched_at {
            let (sign, ret, limit) = days.on_dispatch(local_date(&at), rules);
            o.sign_due = Some(sign);
            o.return_until = Some(ret);
            o.limit = Some(limit);
        }
        if let (Some(at), State::Signed) = (self.signed_at, self.state) {
            let base = days.on_sign(local_date(&at), self.category.as_deref(), rules);
            o.reply_due = Some(days.add(base, self.extended_workdays));
        }
        o.provisional = days.provisional;
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cal() -> Calendar {
        Calendar::builtin()
    }

    fn at(day: &str, hour: u32) -> DateTime<FixedOffset> {
        let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        minqing_connectors::timefmt::shanghai()
            .from_local_datetime(&d.and_hms_opt(hour, 0, 0).unwrap())
            .unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn centre() -> Actor {
        Actor {
            role: Role::Centre,
            unit: None,
            name: "话务员A".into(),
        }
    }

    fn unit(code: &str) -> Actor {
        Actor {
            role: Role::Unit,
            unit: Some(code.into()),
            name: "经办人".into(),
        }
    }

    /// Applies, panicking with the refusal if refused.
    fn ok(o: &Order, a: Action, who: &Actor, when: DateTime<FixedOffset>) -> Transition {
        o.apply(&a, who, when, &cal(), &Rules::default()).unwrap_or_else(|r| panic!("{r}"))
    }

    fn refused(o: &Order, a: Action, who: &Actor, when: DateTime<FixedOffset>) -> (RefusalKind, &'static str) {
        let r = o.apply(&a, who, when, &cal(), &Rules::default()).expect_err("refused");
        (r.kind, r.rule)
    }

    fn dispatched(unit: &str, day: &str) -> Order {
        let o = Order::new(Uuid::nil(), minqing_connectors::Channel::Hotline12345, Some("城乡建设".into()));
        ok(&o, Action::Dispatch { unit: unit.into() }, &centre(), at(day, 9)).order
    }

    fn reply() -> Action {
        Action::Reply {
            text: "已安排维修，路灯恢复。".into(),
        }
    }

    fn visit(s: Satisfaction) -> Action {
        Action::Visit {
            contacted: true,
            resolved: s != Satisfaction::Unsatisfied,
            satisfaction: s,
            trust: 4,
        }
    }

    #[test]
    fn deadlines_across_the_spring_festival_and_a_make_up_saturday() {
        // Friday 13 February 2026; the 14th is a make-up Saturday, 15-23 off.
        let o = dispatched("U1", "2026-02-13");
        assert_eq!(o.sign_due, Some(date("2026-02-14")));
        assert_eq!(o.return_until, Some(date("2026-02-24")));
        assert!(!o.provisional);
        let s = ok(&o, Action::Sign, &unit("U1"), at("2026-02-14", 10)).order;
        // 24, 25, 26, 27 and the make-up Saturday 28.
        assert_eq!(s.reply_due, Some(date("2026-02-28")));
    }

    #[test]
    fn deadlines_across_national_day() {
        let o = dispatched("U1", "2026-09-30");
        assert_eq!(o.sign_due, Some(date("2026-10-08")));
        assert_eq!(o.return_until, Some(date("2026-10-09")));
        let s = ok(&o, Action::Sign, &unit("U1"), at("2026-10-08", 10)).order;
        // 9, the make-up Saturday 10, 12, 13, 14.
        assert_eq!(s.reply_due, Some(date("2026-10-14")));
    }

    #[test]
    fn immediate_categories_are_due_the_working_day_they_are_signed() {
        let rules = Rules {
            immediate_categories: vec!["城乡建设".into()],
            ..Rules::default()
        };
        let o = dispatched("U1", "2026-06-18");
        let s = o
            .apply(&Action::Sign, &unit("U1"), at("2026-06-18", 15), &cal(), &rules)
            .unwrap()
            .order;
        assert_eq!(s.reply_due, Some(date("2026-06-18")));
        // Signed on the 端午 holiday: the next working day.
        let s = o
            .apply(&Action::Sign, &unit("U1"), at("2026-06-20", 15), &cal(), &rules)
            .unwrap()
            .order;
        assert_eq!(s.reply_due, Some(date("2026-06-22")));
    }

    #[test]
    fn a_year_without_data_is_provisional_until_recomputed() {
        let o = dispatched("U1", "2027-09-30");
        assert!(o.provisional, "2027 is not in the built-in data");
        assert_eq!(o.sign_due, Some(date("2027-10-01")), "weekday rule");
        // Made-up data in the shape of a notice, not 2027's real one.
        let text = include_str!("../../tests/fixtures/calendar_2027_made_up.toml").to_owned();
        let with_2027 = Calendar::load(&[("2027.toml".into(), text)]).unwrap_or_else(|e| panic!("{e:?}"));
        let r = o.recompute(&with_2027, &Rules::default());
        assert!(!r.provisional);
        assert_eq!(r.sign_due, Some(date("2027-10-08")));
    }

    #[test]
    fn dispatch_needs_a_unit_and_a_deduction_decision_its_reason() {
        let o = Order::new(Uuid::nil(), minqing_connectors::Channel::Hotline12345, None);
        let blank = Action::Dispatch { unit: " ".into() };
        assert_eq!(
            refused(&o, blank, &centre(), at("2026-06-01", 9)),
            (RefusalKind::Invalid, "dispatch_unit")
        );
        let u = unit("U1");
        let signed = ok(&dispatched("U1", "2026-06-01"), Action::Sign, &u, at("2026-06-01", 10)).order;
        let replied = ok(&signed, reply(), &u, at("2026-06-02", 10)).order;
        let r = ok(&replied, visit(Satisfaction::Unsatisfied), &centre(), at("2026-06-03", 10)).order;
        let ask = Action::RequestDeduction {
            reason: "诉求超出政策范围".into(),
            approved_by: "王局长".into(),
        };
        let d = ok(&r, ask, &u, at("2026-06-04", 9)).order;
        let no_reason = Action::DecideDeduction {
            approve: true,
            reason: "".into(),
        };
        assert_eq!(
            refused(&d, no_reason, &centre(), at("2026-06-05", 9)),
            (RefusalKind::Invalid, "deduction_reason")
        );
    }

    #[test]
    fn roles_and_ownership_are_enforced() {
        let o = dispatched("U1", "2026-06-01");
        let when = at("2026-06-01", 11);
        assert_eq!(
            refused(&o, Action::Sign, &unit("U2"), when),
            (RefusalKind::Forbidden, "own_orders_only")
        );
        let analyst = Actor {
            role: Role::Analyst,
            unit: None,
            name: "分析员".into(),
        };
        assert_eq!(refused(&o, Action::Sign, &analyst, when), (RefusalKind::Forbidden, "role"));
        assert_eq!(refused(&o, Action::Close, &unit("U1"), when), (RefusalKind::Forbidden, "role"));
        // The centre may act on any order, a unit's actions included.
        assert_eq!(ok(&o, Action::Sign, &centre(), when).order.state, State::Signed);
    }

    #[test]
    fn sign_then_reply_then_a_satisfied_visit_closes() {
        let o = dispatched("U1", "2026-06-01");
        let u = unit("U1");
        let t = ok(&o, Action::Sign, &u, at("2026-06-01", 11));
        assert_eq!(
            (t.from, t.order.state, t.event),
            (State::Dispatched, State::Signed, EventType::Signed)
        );
        assert_eq!(
            refused(&t.order, Action::Sign, &u, at("2026-06-01", 12)),
            (RefusalKind::Conflict, "state")
        );
        assert_eq!(
            refused(&t.order, Action::Reply { text: " ".into() }, &u, at("2026-06-02", 9)),
            (RefusalKind::Invalid, "reply_text")
        );
        assert_eq!(
            refused(&t.order, visit(Satisfaction::Satisfied), &centre(), at("2026-06-02", 9)),
            (RefusalKind::Conflict, "state")
        );
        let r = ok(&t.order, reply(), &u, at("2026-06-03", 9)).order;
        assert_eq!(
            refused(&r, Action::Close, &centre(), at("2026-06-03", 10)),
            (RefusalKind::Conflict, "close_after_visit")
        );
        let bad_trust = Action::Visit {
            contacted: true,
            resolved: true,
            satisfaction: Satisfaction::Satisfied,
            trust: 0,
        };
        assert_eq!(
            refused(&r, bad_trust, &centre(), at("2026-06-03", 10)),
            (RefusalKind::Invalid, "visit_trust")
        );
        let v = ok(&r, visit(Satisfaction::BasicallySatisfied), &centre(), at("2026-06-04", 9)).order;
        assert_eq!(v.state, State::Visited);
        let c = ok(&v, Action::Close, &centre(), at("2026-06-04", 10)).order;
        assert_eq!((c.state, c.version), (State::Closed, 5));
        assert_eq!(refused(&c, reply(), &u, at("2026-06-05", 9)), (RefusalKind::Conflict, "state"));
    }

    #[test]
    fn returns_need_a_reason_and_two_working_days_and_two_units_make_a_clue() {
        let o = dispatched("U1", "2026-06-01");
        let no_reason = Action::Return { reason: "".into() };
        assert_eq!(
            refused(&o, no_reason, &unit("U1"), at("2026-06-01", 10)),
            (RefusalKind::Invalid, "return_reason")
        );
        let why = || Action::Return {
            reason: "该路段属于高新区管辖，非我单位职责".into(),
        };
        assert_eq!(
            refused(&o, why(), &unit("U1"), at("2026-06-04", 10)),
            (RefusalKind::Conflict, "return_within_2_workdays"),
            "dispatched Monday: Tuesday and Wednesday only"
        );
        let t = ok(&o, why(), &unit("U1"), at("2026-06-03", 17));
        assert_eq!(
            (t.order.state, t.order.returned_by.clone(), t.effects.len()),
            (State::AwaitingDispatch, vec!["U1".to_owned()], 0)
        );
        assert_eq!(
            refused(&t.order, Action::Dispatch { unit: "U1".into() }, &centre(), at("2026-06-04", 9)),
            (RefusalKind::Conflict, "not_back_to_returning_unit")
        );
        let again = ok(&t.order, Action::Dispatch { unit: "U2".into() }, &centre(), at("2026-06-04", 9)).order;
        assert_eq!(again.sign_due, Some(date("2026-06-05")));
        let signed = ok(&again, Action::Sign, &unit("U2"), at("2026-06-04", 10)).order;
        let t = ok(&signed, why(), &unit("U2"), at("2026-06-05", 10));
        assert!(matches!(&t.effects[..], [Effect::ClueTransfer { .. }]), "{:?}", t.effects);
        assert!(t.order.clue_transferred);
    }

    #[test]
    fn on_account_needs_a_plan_and_a_future_target() {
        let o = ok(&dispatched("U1", "2026-06-01"), Action::Sign, &unit("U1"), at("2026-06-01", 10)).order;
        let u = unit("U1");
        let past = Action::OnAccount {
            plan: "纳入年度改造计划".into(),
            target: date("2026-06-01"),
        };
        assert_eq!(
            refused(&o, past, &u, at("2026-06-02", 9)),
            (RefusalKind::Invalid, "on_account_target")
        );
        let no_plan = Action::OnAccount {
            plan: "".into(),
            target: date("2026-09-30"),
        };
        assert_eq!(
            refused(&o, no_plan, &u, at("2026-06-02", 9)),
            (RefusalKind::Invalid, "on_account_plan")
        );
        let plan = Action::OnAccount {
            plan: "纳入年度改造计划，9月底前完成".into(),
            target: date("2026-09-30"),
        };
        // Not open-ended: 120 working days from dispatch at most.
        let forever = Action::OnAccount {
            plan: "以后再说".into(),
            target: date("9999-12-31"),
        };
        assert_eq!(
            refused(&o, forever, &u, at("2026-06-02", 9)),
            (RefusalKind::Invalid, "on_account_within_limit")
        );
        let a = ok(&o, plan, &u, at("2026-06-02", 9)).order;
        assert_eq!((a.state, a.reply_due), (State::OnAccount, Some(date("2026-09-30"))));
        assert_eq!(ok(&a, reply(), &u, at("2026-09-29", 9)).order.state, State::Replied);
    }

    #[test]
    fn extensions_are_requested_granted_and_capped_at_30_working_days() {
        let o = ok(&dispatched("U1", "2026-06-01"), Action::Sign, &unit("U1"), at("2026-06-01", 10)).order;
        assert_eq!(o.reply_due, Some(date("2026-06-08")));
        let u = unit("U1");
        let ask = |n: u32| Action::RequestExtension {
            workdays: n,
            reason: "需协调供电公司".into(),
        };
        assert_eq!(
            refused(&o, ask(0), &u, at("2026-06-02", 9)),
            (RefusalKind::Invalid, "extension_request")
        );
        // Dispatched 1 June: 30 working days end on 14 July (端午 19 June off).
        assert_eq!(o.limit, Some(date("2026-07-14")));
        assert_eq!(
            refused(&o, ask(26), &u, at("2026-06-02", 9)),
            (RefusalKind::Conflict, "extension_within_30_workdays")
        );
        assert_eq!(
            refused(&o, Action::GrantExtension { workdays: None }, &centre(), at("2026-06-02", 9)),
            (RefusalKind::Conflict, "extension_pending")
        );
        let p = ok(&o, ask(10), &u, at("2026-06-02", 9)).order;
        assert_eq!(
            refused(&p, ask(2), &u, at("2026-06-02", 10)),
            (RefusalKind::Conflict, "one_extension_at_a_time")
        );
        assert_eq!(
            refused(&p, Action::GrantExtension { workdays: Some(11) }, &centre(), at("2026-06-03", 9)),
            (RefusalKind::Invalid, "extension_grant")
        );
        assert_eq!(
            refused(&p, Action::GrantExtension { workdays: None }, &u, at("2026-06-03", 9)),
            (RefusalKind::Forbidden, "role")
        );
        let g = ok(&p, Action::GrantExtension { workdays: Some(7) }, &centre(), at("2026-06-03", 9)).order;
        // 9, 10, 11, 12, 15, 16, 17.
        assert_eq!(
            (g.reply_due, g.extended_workdays, g.extension_pending),
            (Some(date("2026-06-17")), 7, None)
        );
    }

    #[test]
    fn the_unsatisfied_path_deduction_or_written_supervision_and_a_second_confirmation_is_a_clue() {
        let u = unit("U1");
        let signed = ok(&dispatched("U1", "2026-06-01"), Action::Sign, &u, at("2026-06-01", 10)).order;
        let replied = ok(&signed, reply(), &u, at("2026-06-02", 10)).order;
        let r = ok(&replied, visit(Satisfaction::Unsatisfied), &centre(), at("2026-06-03", 10)).order;
        assert_eq!(
            (r.state, r.unsatisfied_visits, r.reply_due),
            (State::Reassigned, 1, Some(date("2026-06-10")))
        );
        let unsigned = Action::RequestDeduction {
            reason: "诉求超出政策范围".into(),
            approved_by: " ".into(),
        };
        assert_eq!(
            refused(&r, unsigned, &u, at("2026-06-04", 9)),
            (RefusalKind::Invalid, "deduction_request")
        );
        let ask = || Action::RequestDeduction {
            reason: "诉求超出政策范围".into(),
            approved_by: "王局长".into(),
        };
        let d = ok(&r, ask(), &u, at("2026-06-04", 9)).order;
        assert_eq!(d.state, State::DeductionRequested);
        let decide = |approve| Action::DecideDeduction {
            approve,
            reason: "经审核".into(),
        };
        assert_eq!(refused(&d, decide(true), &u, at("2026-06-05", 9)), (RefusalKind::Forbidden, "role"));
        let closed = ok(&d, decide(true), &centre(), at("2026-06-05", 9)).order;
        assert_eq!((closed.state, closed.deducted), (State::Closed, true));

        let t = ok(&d, decide(false), &centre(), at("2026-06-05", 9));
        assert_eq!(t.order.state, State::ConfirmedUnsatisfied);
        assert!(matches!(
            &t.effects[..],
            [Effect::Supervised {
                level: Supervision::Written,
                ..
            }]
        ));
        // Handled again, still unsatisfied, confirmed a second time: a clue.
        let again = ok(&t.order, reply(), &u, at("2026-06-08", 9)).order;
        let r2 = ok(&again, visit(Satisfaction::Unsatisfied), &centre(), at("2026-06-09", 9)).order;
        let d2 = ok(&r2, ask(), &u, at("2026-06-09", 10)).order;
        let t2 = ok(&d2, decide(false), &centre(), at("2026-06-10", 9));
        assert!(
            t2.effects.iter().any(|e| matches!(e, Effect::ClueTransfer { .. })),
            "{:?}",
            t2.effects
        );
        assert_eq!(t2.order.confirmed_unsatisfied, 2);
    }

    #[test]
    fn sweeps_report_each_deadline_once_and_supervision_escalates() {
        let o = dispatched("U1", "2026-06-01");
        assert_eq!(o.sweep(date("2026-06-02")), None, "due today is not late");
        let late = o.sweep(date("2026-06-03")).expect("sign overdue");
        assert_eq!((late.event, late.due), (EventType::SignOverdue, date("2026-06-02")));
        assert!(matches!(
            &late.effects[..],
            [Effect::Supervised {
                level: Supervision::Phone,
                ..
            }]
        ));
        assert_eq!(late.order.sweep(date("2026-06-04")), None, "once per deadline");
        // Signed late; the reply is late too: written supervision.
        let s = ok(&late.order, Action::Sign, &unit("U1"), at("2026-06-04", 9)).order;
        assert_eq!(s.reply_due, Some(date("2026-06-11")));
        let r = s.sweep(date("2026-06-12")).expect("reply overdue");
        assert_eq!(r.event, EventType::ReplyOverdue);
        assert!(matches!(
            &r.effects[..],
            [Effect::Supervised {
                level: Supervision::Written,
                ..
            }]
        ));
        // An extension gives a new deadline; missing it too is a clue.
        let p = ok(
            &r.order,
            Action::RequestExtension {
                workdays: 3,
                reason: "材料未齐".into(),
            },
            &unit("U1"),
            at("2026-06-12", 9),
        )
        .order;
        let g = ok(&p, Action::GrantExtension { workdays: None }, &centre(), at("2026-06-12", 10)).order;
        assert_eq!(g.reply_due, Some(date("2026-06-16")));
        assert_eq!(g.sweep(date("2026-06-16")), None);
        let c = g.sweep(date("2026-06-17")).expect("overdue again");
        assert!(matches!(&c.effects[..], [Effect::ClueTransfer { .. }]));
        let done = ok(&c.order, reply(), &unit("U1"), at("2026-06-18", 9)).order;
        assert_eq!(done.sweep(date("2026-07-30")), None, "replied orders are not late");
    }
}
