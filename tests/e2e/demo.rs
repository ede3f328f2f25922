use crate::helpers::{counts, settings, sqlite_clusters, sqlite_duplicate_replies, sqlite_scopes, triage_array};
use minqing::sim::demo::{self, DemoArgs};
use minqing_connectors::Channel;
use std::time::Duration;

fn args(dir: &std::path::Path) -> DemoArgs {
    DemoArgs {
        appeals: 3000,
        seed: 7,
        data_dir: Some(dir.to_path_buf()),
        faults: true,
        units: true,
        timeout: Duration::from_secs(180),
        progress: false,
        rate: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_appeal_is_accounted_for_and_a_second_run_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo::run(settings(dir.path()), args(dir.path())).await.unwrap();
    assert_eq!(first.totals.generated, 3000);
    assert_eq!(first.totals.missing, 0, "{}", first.table());
    for (c, row) in &first.channels {
        assert_eq!(row.missing, 0, "{c}: {}", first.table());
    }
    assert_eq!(first.totals.replays, first.expected.replays, "{}", first.table());
    assert_eq!(first.totals.duplicates, first.expected.duplicates, "{}", first.table());
    assert_eq!(first.totals.quarantined, first.expected.quarantined, "{}", first.table());
    assert!(first.expected.replays > 0 && first.expected.duplicates > 0 && first.expected.quarantined > 0);
    assert!(
        first.faults.http_500 + first.faults.http_429 + first.faults.slow > 0,
        "faults were injected: {:?}",
        first.faults
    );
    assert!(first.replies_ok > 0 && first.replies_bad == 0);
    assert!(first.checks_out(), "{}", first.table());
    // Triage: every class the simulators wrote, decided as they meant, and
    // recorded so in both stores.
    let t = first.triage;
    assert!(
        t.forwarded > 0 && t.rejected > 0 && t.answered_online > 0 && t.manual > 0,
        "{}",
        first.table()
    );
    assert_eq!(t, first.expected.triage, "{}", first.table());
    // Same-issue clusters and 现场督办 escalations: exactly the groups the
    // simulators planned (neighbours, a citizen coming back, bridges, copies).
    assert!(first.expected.clusters > 0 && first.expected.escalations > 0);
    assert_eq!(
        (first.clusters, first.escalations),
        (first.expected.clusters, first.expected.escalations),
        "{}",
        first.table()
    );
    // The simulated units worked every dispatched order through /api/v1:
    // late signing and replies found by the sweep, supervision, returns,
    // unsatisfied visits reworked; exactly as planned.
    let w = first.workflow.as_ref().expect("a fresh store's orders are worked");
    assert_eq!(w.counts, w.expected, "{}", first.table());
    assert!(w.counts.sign_overdue > 0 && w.counts.reply_overdue > 0 && w.counts.returned > 0 && w.counts.unsatisfied > 0);
    assert_eq!(w.counts.orders, t.dispatched - t.manual);
    assert_eq!(sqlite_scopes(&dir.path().join("minqing.db"), false).await, triage_array(&t));
    assert_eq!(sqlite_scopes(&dir.path().join("warehouse.db"), true).await, triage_array(&t));
    // Every ticket has a cluster, the same in both files, merges included.
    // (The run ends when every ticket landed; a merge in a batch's last
    // events may land a moment later.)
    let mut tries = 0;
    let ((workflow, merges), (warehouse, wh_merges)) = loop {
        let w = sqlite_clusters(&dir.path().join("minqing.db")).await;
        let h = sqlite_clusters(&dir.path().join("warehouse.db")).await;
        tries += 1;
        if (w.1 == h.1 && w.0 == h.0) || tries == 50 {
            break (w, h);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(merges > 0, "the simulators' bridging letters merge clusters");
    assert_eq!((workflow.len() as u64, merges), (first.totals.tickets, wh_merges));
    assert_eq!(workflow, warehouse, "cluster ids agree after merges");

    // What the store holds agrees with what the run reported.
    let db = dir.path().join("minqing.db");
    // A duplicate's citizen is told the original's number.
    let (dups, told) = sqlite_duplicate_replies(&db).await;
    assert_eq!((dups as u64, told), (first.totals.duplicates, dups));
    let stored = counts(&db).await;
    for c in Channel::ALL {
        let (row, s) = (first.channels[&c], stored.get(&c).copied().unwrap_or_default());
        assert_eq!(
            (s.tickets, s.duplicates, s.quarantined),
            (row.tickets, row.duplicates, row.quarantined),
            "{c}"
        );
        assert_eq!(s.received_events, s.tickets, "{c}: one received event per ticket");
        assert_eq!(s.distinct_sources, s.tickets, "{c}: no ticket twice");
    }

    let second = demo::run(settings(dir.path()), args(dir.path())).await.unwrap();
    assert_eq!(second.totals.missing, 0, "{}", second.table());
    assert_eq!(second.totals.tickets, 0, "{}", second.table());
    assert_eq!((second.clusters, second.escalations), (0, 0), "nothing escalated twice");
    assert!(second.workflow.is_none(), "orders are worked once");
    assert_eq!(second.totals.quarantined, 0, "{}", second.table());
    assert_eq!(second.totals.replays, second.totals.generated, "{}", second.table());
    assert_eq!(first.huangshi.received, first.triage.forwarded, "{}", first.table());
    assert_eq!(second.huangshi.received, 0, "nothing forwarded twice: {}", second.table());
    assert_eq!(counts(&db).await, stored, "the second run changed the store");
}
