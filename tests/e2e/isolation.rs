use crate::helpers::{counts, polling, settings};
use minqing::sim::demo;
use minqing::sim::fleet::Fleet;
use minqing_connectors::Channel;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_channel_does_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = demo::scenario(2000, 5);
    let expected = scenario.expected.clone();
    let mut s = demo::demo_settings(settings(dir.path()), None);
    let mut fleet = Fleet::start(scenario, &mut s.connectors, false).await.unwrap();
    // Nothing listens on port 9 of loopback: every poll of 12366 fails.
    s.connectors.tax_12366.base_url = "http://127.0.0.1:9".into();
    s.http.max_attempts = 2;
    let rt = polling(&s, Some(&mut fleet)).await;

    let db = dir.path().join("minqing.db");
    let deadline = Instant::now() + Duration::from_secs(120);
    let others: Vec<Channel> = Channel::ALL.into_iter().filter(|c| *c != Channel::Tax12366).collect();
    loop {
        let c = counts(&db).await;
        if others
            .iter()
            .all(|ch| c.get(ch).is_some_and(|got| got.tickets == expected[ch].tickets))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the healthy channels did not finish: {c:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status: serde_json::Value = reqwest::get(format!("http://{}/status", rt.api_addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tax = &status["channels"]["tax_12366"];
    assert_eq!(tax["healthy"], false, "{tax}");
    assert!(tax["last_error"].as_str().unwrap().contains("127.0.0.1:9"), "{tax}");
    assert_eq!(status["channels"]["hotline_12345"]["healthy"], true);
    assert_eq!(counts(&db).await.get(&Channel::Tax12366).map(|c| c.tickets).unwrap_or(0), 0);
    rt.shutdown().await;
    fleet.stop().await;
}
