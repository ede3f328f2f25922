//! The work-order lifecycle (DESIGN.md §1): dispatch, sign, return, reply,
//! put on account, extensions, return visits, the unsatisfied path with
//! its deduction request, and close, as a pure state machine over working
//! days. Stores keep an order's state and apply the machine's transitions;
//! the API and the SLA sweeps drive it.

pub mod machine;
pub mod rules;

pub use machine::{Action, Actor, Effect, Order, Overdue, Refusal, RefusalKind, Role, Satisfaction, State, Supervision, Transition};
pub use rules::Rules;
