//! [`AppealSink`]: where connectors hand their appeals.

use crate::appeal::Inbound;
use async_trait::async_trait;

/// The downstream side of a connector. `accept` resolves only when every item
/// is durably accepted (committed, or confirmed by the broker); only then may a
/// pull connector move its checkpoint or a push endpoint answer 200.
#[async_trait]
pub trait AppealSink: Send + Sync {
    async fn accept(&self, items: Vec<Inbound>) -> Result<(), SinkError>;
}

pub use crate::error::SinkError;

/// The sink of a push endpoint. It gives each pushed record an occurrence
/// (see [`Inbound::occurrence`]): the record's identity and how many of its
/// pushes this process has taken on without failing them. A sender's retry
/// after we failed it (a 503 while the broker was away) carries the
/// occurrence of the try we failed, so intake counts it as ours if that try
/// did land after all; a record the sender pushes again while or after we
/// take it gets the next occurrence, and is the channel's replay.
pub struct Pushed {
    inner: std::sync::Arc<dyn AppealSink>,
    taken: std::sync::Mutex<std::collections::HashMap<u64, u32>>,
}

impl Pushed {
    /// Identities remembered; past this the map starts afresh, which at
    /// worst counts a later retry as the channel's replay.
    const CAP: usize = 1_000_000;

    pub fn new(inner: std::sync::Arc<dyn AppealSink>) -> Pushed {
        Pushed {
            inner,
            taken: Default::default(),
        }
    }
}

#[async_trait]
impl AppealSink for Pushed {
    async fn accept(&self, mut items: Vec<Inbound>) -> Result<(), SinkError> {
        let ids: Vec<u64> = items.iter().map(Inbound::identity).collect();
        {
            let mut taken = self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if taken.len() >= Self::CAP {
                // A new map, not `clear`: that keeps the memory.
                *taken = Default::default();
            }
            for (item, id) in items.iter_mut().zip(&ids) {
                let times = taken.entry(*id).or_default();
                item.set_occurrence(crate::appeal::occurrence_of(item.channel(), None, *times as usize, *id));
                *times += 1;
            }
        }
        let r = self.inner.accept(items).await;
        if r.is_err() {
            // The sender will try again; that try is this one.
            let mut taken = self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for id in ids {
                if let Some(t) = taken.get_mut(&id) {
                    *t = t.saturating_sub(1);
                }
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appeal::{Channel, Rejected};

    struct Flaky(std::sync::Mutex<Vec<(bool, Option<u64>)>>);

    #[async_trait]
    impl AppealSink for Flaky {
        async fn accept(&self, items: Vec<Inbound>) -> Result<(), SinkError> {
            let mut log = self.0.lock().unwrap();
            let fail = log.is_empty();
            log.push((fail, items[0].occurrence()));
            if fail {
                Err(SinkError::Pipeline("broker away".into()))
            } else {
                Ok(())
            }
        }
    }

    /// A retry after our failure repeats the failed try's occurrence; a
    /// push after an accepted one gets a new one.
    #[tokio::test]
    async fn a_retry_keeps_its_occurrence_and_a_resend_gets_a_new_one() {
        let flaky = std::sync::Arc::new(Flaky(Default::default()));
        let sink = Pushed::new(flaky.clone());
        let item = || {
            Inbound::Rejected(Rejected {
                channel: Channel::Grid,
                source_id: None,
                raw: b"<bad/>".to_vec(),
                reason: "bad".into(),
                occurrence: None,
            })
        };
        assert!(sink.accept(vec![item()]).await.is_err());
        sink.accept(vec![item()]).await.unwrap();
        sink.accept(vec![item()]).await.unwrap();
        let log = flaky.0.lock().unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log[0].1, log[1].1, "the retry of the failed try");
        assert_ne!(log[1].1, log[2].1, "a resend after success");
        assert!(log.iter().all(|(_, o)| o.is_some()));
    }
}
