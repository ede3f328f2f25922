use crate::helpers::settings;
use minqing::commands::quarantine;
use minqing::runtime::start_pipeline;
use minqing_connectors::{Channel, Inbound, Rejected, hotline12345};
use minqing_pipelines::store::QuarantineQuery;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_after_a_fix_turns_held_records_into_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let mut strict = settings(dir.path());
    strict.pipeline.max_content_bytes = 64;
    let record = r#"{"gdbh":"GD-Q-1","ldsj":"2026-06-01 09:15:00","gxsj":"2026-06-01 09:16:00","lxdh":"13812345678","sqnr":"金湖街道港湖村的路灯坏了两个多月，晚上出行很不安全，请尽快维修。","sqlx":"TS"}"#;
    {
        let (cancel, tracker) = (CancellationToken::new(), TaskTracker::new());
        let pipe = start_pipeline(&strict, &tracker, &cancel).await.unwrap();
        let appeal = hotline12345::map_record(record).unwrap();
        let forged = Rejected {
            occurrence: None,
            channel: Channel::Grid,
            source_id: None,
            // What the grid webhook keeps of a post that failed its signature.
            raw: minqing_connectors::guard::unauthenticated_record(br#"{"batch_id":"B1","reports":[]}"#),
            reason: "bad signature: X-Grid-Signature does not match the body".into(),
        };
        pipe.bus
            .publish_raw(vec![Inbound::Appeal(Box::new(appeal)), Inbound::Rejected(forged)])
            .await
            .unwrap();
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
    }
    let all = QuarantineQuery {
        limit: 100,
        ..Default::default()
    };
    let listed = quarantine::list(&strict, &all, false).await.unwrap();
    assert!(listed.contains("oversize text") && listed.contains("GD-Q-1"), "{listed}");
    assert!(listed.contains("2 record(s)"), "{listed}");

    // Still too strict: nothing changes.
    let out = quarantine::replay(&strict, &all).await.unwrap();
    assert!(out.contains("0 replayed, 2 still held"), "{out}");

    // The fix: a sane size limit. The oversize record becomes a ticket; the
    // forged push is never replayed.
    let fixed = settings(dir.path());
    let out = quarantine::replay(&fixed, &all).await.unwrap();
    assert!(out.contains("1 replayed, 1 still held") && out.contains("never replayed"), "{out}");
    let held = quarantine::list(&fixed, &all, true).await.unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&held).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["channel"], "grid");
    let c = crate::helpers::counts(&dir.path().join("minqing.db")).await;
    assert_eq!(c[&Channel::Hotline12345].tickets, 1);
}
