use crate::helpers::{OutboxRow, polling, quiet, settings, settle_in_one_set};
use minqing::cli::ForwardAction;
use minqing::commands::forward;
use minqing::sim::demo;
use minqing::sim::fleet::Fleet;
use minqing_connectors::huangshi::{Client, Outcome};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

async fn wait_for(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Huangshi is down while the appeals come in; minqing restarts; an answer
/// is lost (a transfer got through behind minqing's back); Huangshi comes
/// back. Every forwarded ticket arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_forwarded_ticket_reaches_huangshi_once_through_downtime_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = demo::scenario(3000, 5);
    let want: u64 = scenario.expected.values().map(|e| e.triage.forwarded).sum();
    assert!(want > 50, "the scenario forwards enough to test: {want}");
    let mut s = demo::demo_settings(settings(dir.path()), None);
    s.forwarder.poll_ms = 50;
    s.forwarder.base_delay_ms = 50;
    s.forwarder.max_delay_ms = 300;
    let mut fleet = Fleet::start(scenario, &mut s.connectors, false).await.unwrap();
    fleet
        .serve_huangshi(&mut s.forwarder, Some(Duration::from_secs(3600)))
        .await
        .unwrap();
    let sim = fleet.huangshi.clone().unwrap();

    let rt = polling(&s, Some(&mut fleet)).await;
    let store = rt.store.clone();
    let far = chrono::Utc::now() + chrono::Duration::days(1);
    wait_for("every transfer to be tried while Huangshi is down", 120, async || {
        let jobs = store.due_forwards(far, 100_000).await.unwrap();
        jobs.len() as u64 == want && jobs.iter().all(|j| j.attempts > 0)
    })
    .await;
    assert!(sim.counters.refused_while_down.load(Ordering::Relaxed) >= want);
    rt.shutdown().await;
    assert_eq!(sim.counters.received.load(Ordering::Relaxed), 0);

    // One transfer reaches Huangshi but its answer never comes back to us.
    let jobs = store.due_forwards(far, 100_000).await.unwrap();
    assert_eq!(jobs.len() as u64, want);
    assert!(
        jobs.iter().all(|j| j.attempts > 0),
        "every transfer was tried while Huangshi was down"
    );
    assert!(
        jobs.iter()
            .all(|j| ["bank", "express", "telecom"].contains(&j.transfer.class.as_str()))
    );
    sim.up();
    let lost = Client::new(s.forwarder.huangshi.clone()).send(&jobs[0].transfer).await;
    assert!(matches!(lost, Outcome::Delivered { repeat: false, .. }), "{lost:?}");

    let rt = polling(&s, None).await;
    let store = rt.store.clone();
    wait_for("the outbox to drain", 120, async || {
        store.forward_counts().await.unwrap().pending == 0
    })
    .await;
    let counts = store.forward_counts().await.unwrap();
    rt.shutdown().await;
    fleet.stop().await;
    assert_eq!((counts.sent, counts.parked), (want, 0));
    assert_eq!(sim.counters.received.load(Ordering::Relaxed), want, "each transfer once");
    assert_eq!(
        sim.counters.duplicates_refused.load(Ordering::Relaxed),
        1,
        "the lost answer's repeat"
    );
    let got = sim.transfers();
    assert_eq!(got.len() as u64, want);
    assert!(got.values().all(|t| t.reason.contains('+') && !t.content.is_empty()));
    let pool = minqing_pipelines::db::pool::connect::<sqlx::Sqlite>(&format!("sqlite://{}", dir.path().join("minqing.db").display()))
        .await
        .unwrap();
    let forwarded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status = 'forwarded'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(forwarded as u64, want);
}

/// A transfer Huangshi refuses (a wrong shared secret) is parked at once:
/// the ticket is `forward_failed` and nothing is retried. Once the secret
/// is fixed, `minqing forward requeue` (one ticket, then the rest) sends
/// each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_transfer_is_parked_with_the_reason_and_requeued_after_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = demo::scenario(600, 9);
    let want: u64 = scenario.expected.values().map(|e| e.triage.forwarded).sum();
    assert!(want > 0);
    let mut s = demo::demo_settings(settings(dir.path()), None);
    let mut fleet = Fleet::start(scenario, &mut s.connectors, false).await.unwrap();
    fleet.serve_huangshi(&mut s.forwarder, None).await.unwrap();
    let sim = fleet.huangshi.clone().unwrap();
    let fleet_secret = std::mem::replace(&mut s.forwarder.huangshi.secret, "not-the-shared-secret".into());
    let rt = polling(&s, Some(&mut fleet)).await;
    let store = rt.store.clone();
    wait_for("every transfer to be parked", 120, async || {
        store.forward_counts().await.unwrap().parked == want
    })
    .await;
    rt.shutdown().await;
    assert_eq!(sim.counters.received.load(Ordering::Relaxed), 0);
    assert_eq!(
        sim.counters.bad_signature.load(Ordering::Relaxed),
        want,
        "no retries after a refusal"
    );
    let pool = minqing_pipelines::db::pool::connect::<sqlx::Sqlite>(&format!("sqlite://{}", dir.path().join("minqing.db").display()))
        .await
        .unwrap();
    let (failed, reason): (i64, Option<String>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM tickets WHERE status = 'forward_failed'), (SELECT MAX(last_error) FROM forward_outbox)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(failed as u64, want);
    assert!(reason.unwrap().contains("401"));

    // The operator sees why, fixes the secret and requeues.
    let list = forward::command(&s, ForwardAction::List { limit: 1000, json: true }).await.unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["counts"]["parked"], want);
    let parked = list["parked"].as_array().unwrap();
    assert_eq!(parked.len() as u64, want);
    assert!(parked.iter().all(|p| p["last_error"].as_str().unwrap().contains("401")));
    let first = parked[0]["short_no"].as_str().unwrap().to_owned();
    s.forwarder.huangshi.secret = fleet_secret;
    let requeue = |ticket: Option<String>| ForwardAction::Requeue {
        all: ticket.is_none(),
        ticket,
    };
    let out = forward::command(&s, requeue(Some(first.clone()))).await.unwrap();
    assert!(out.starts_with("1 transfer(s) requeued"), "{out}");
    let again = forward::command(&s, requeue(Some(first))).await.unwrap_err().to_string();
    assert!(again.contains("neither a ticket id nor"), "{again}");
    let status: String =
        sqlx::query_scalar("SELECT t.status FROM tickets t JOIN forward_outbox o USING (ticket_id) WHERE o.status = 'pending'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "forward_pending");
    let out = forward::command(&s, requeue(None)).await.unwrap();
    assert_eq!(
        out,
        format!("{} transfer(s) requeued; the forwarder sends them on its next poll\n", want - 1)
    );

    let rt = quiet(&s).await;
    let store = rt.store.clone();
    wait_for("the requeued transfers to be sent", 120, async || {
        store.forward_counts().await.unwrap().sent == want
    })
    .await;
    rt.shutdown().await;
    fleet.stop().await;
    assert_eq!(sim.counters.received.load(Ordering::Relaxed), want, "each transfer once");
    let forwarded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE status = 'forwarded'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(forwarded as u64, want);
}

/// Transfers are settled in SQLite as one set (`settle_in_one_set`): a
/// later outcome for the same ticket in the set holds.
#[tokio::test]
async fn forward_settlements_land_in_sqlite_as_one_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("minqing.db");
    let store = minqing_pipelines::store::sqlite::SqliteStore::open(&path).await.unwrap();
    let pool = store.pool().clone();
    settle_in_one_set(&store, |id| {
        let pool = pool.clone();
        async move {
            let (status, attempts, error, no, ticket, later) =
                sqlx::query_as::<_, (String, i64, Option<String>, Option<String>, String, bool)>(
                    "SELECT o.status, o.attempts, o.last_error, o.huangshi_no, t.status, o.next_attempt_ms > ? \
                     FROM forward_outbox o JOIN tickets t USING (ticket_id) WHERE ticket_id = ?",
                )
                .bind(chrono::Utc::now().timestamp_millis())
                .bind(id.to_string())
                .fetch_one(&pool)
                .await
                .unwrap();
            OutboxRow {
                status,
                attempts,
                error,
                no,
                ticket,
                later,
            }
        }
    })
    .await;
}

/// An outbox whose store fails to record Huangshi's answers `failures`
/// times (a full disk), then recovers.
struct FailingOutbox {
    job: minqing_pipelines::store::ForwardJob,
    state: std::sync::Mutex<(u32, bool)>,
    settle_calls: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl minqing_pipelines::forward::Outbox for FailingOutbox {
    async fn due(&self, _limit: i64) -> Result<Vec<minqing_pipelines::store::ForwardJob>, minqing_pipelines::store::StoreError> {
        let delivered = self.state.lock().unwrap().1;
        Ok(if delivered { vec![] } else { vec![self.job.clone()] })
    }
    async fn settle(
        &self,
        settled: &[(uuid::Uuid, u32, minqing_pipelines::store::ForwardSettle)],
    ) -> Result<(), minqing_pipelines::store::StoreError> {
        self.settle_calls.fetch_add(1, Ordering::Relaxed);
        let mut st = self.state.lock().unwrap();
        if st.0 > 0 {
            st.0 -= 1;
            // The disk is full (ENOSPC).
            return Err(minqing_pipelines::store::StoreError::Folder {
                path: "data".into(),
                source: std::io::Error::from_raw_os_error(28),
            });
        }
        st.1 |= settled
            .iter()
            .any(|s| matches!(s.2, minqing_pipelines::store::ForwardSettle::Delivered { .. }));
        Ok(())
    }
}

/// A store that cannot record answers stops the sending: the answer is
/// kept and recorded once the store recovers, with backoff meanwhile, and
/// the transfer reaches Huangshi once (before: resent without pause).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_record_answers_stops_the_sending_until_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.forwarder.poll_ms = 20;
    s.forwarder.base_delay_ms = 20;
    s.forwarder.max_delay_ms = 160;
    let sim = minqing_connectors::huangshi::sim::HuangshiSim::new(&s.forwarder.huangshi.app_key, &s.forwarder.huangshi.secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    s.forwarder.huangshi.base_url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, sim.router()).into_future());
    let transfer: minqing_connectors::huangshi::Transfer = serde_json::from_value(serde_json::json!({
        "transfer_id": "t-1", "acceptance_no": "DY-00000-00001", "from": "daye", "received_at": "2026-06-01T09:00:00+08:00",
        "channel": "grid", "class": "bank", "reason": "银行业务", "title": null, "content": "银行卡被扣费", "appeal_type": null,
        "town": null, "location": null, "contact": {"name": null, "phone": null}
    }))
    .unwrap();
    let outbox = std::sync::Arc::new(FailingOutbox {
        job: minqing_pipelines::store::ForwardJob {
            ticket_id: uuid::Uuid::nil(),
            attempts: 0,
            transfer,
        },
        state: std::sync::Mutex::new((6, false)),
        settle_calls: Default::default(),
    });
    let forwarder = minqing_pipelines::forward::Forwarder {
        outbox: outbox.clone(),
        settings: s.forwarder.clone(),
        stats: Default::default(),
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(forwarder.run(cancel.clone()));
    wait_for("the answer to be recorded", 30, async || outbox.state.lock().unwrap().1).await;
    // Some quiet polls after recovery: nothing more goes out.
    tokio::time::sleep(Duration::from_millis(200)).await;
    cancel.cancel();
    run.await.unwrap();
    server.abort();
    assert_eq!(sim.counters.received.load(Ordering::Relaxed), 1);
    assert_eq!(
        sim.counters.duplicates_refused.load(Ordering::Relaxed),
        0,
        "sent once, not again per failed commit"
    );
    assert_eq!(
        outbox.settle_calls.load(Ordering::Relaxed),
        7,
        "six failed recordings, then one that held"
    );
}
