//! Every registered channel through the same checks (issue 32, item 1):
//! registered once under its own key, its shipped settings pass its
//! checks, it builds as what it says it is, its simulator's records come
//! back through its wire mapping and its quarantine remap, and a
//! malformed record is refused with a reason.

use crate::helpers::settings;
use minqing::sim::demo;
use minqing::sim::fleet::Fleet;
use minqing_connectors::http::HttpClient;
use minqing_connectors::pull::ChannelStats;
use minqing_connectors::sim::SendTo;
use minqing_connectors::sink::AppealSink;
use minqing_connectors::spec::Built;
use minqing_connectors::{Channel, Inbound};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A sink nothing reaches in these checks.
struct Nowhere;

#[async_trait::async_trait]
impl AppealSink for Nowhere {
    async fn accept(&self, _items: Vec<Inbound>) -> Result<(), minqing_connectors::sink::SinkError> {
        Ok(())
    }
}

#[test]
fn every_channel_is_registered_once_and_its_shipped_settings_pass() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    let registered: Vec<Channel> = s.connectors.all().iter().map(|c| c.channel()).collect();
    let unique: BTreeSet<Channel> = registered.iter().copied().collect();
    assert_eq!(unique.len(), registered.len(), "registered twice: {registered:?}");
    assert_eq!(unique, Channel::ALL.into_iter().collect::<BTreeSet<_>>());
    assert_eq!(s.connectors.check(), Vec::<String>::new());
    for spec in s.connectors.all() {
        assert!(!spec.secrets().is_empty(), "{}: no secret to check", spec.channel());
        let refused = spec.remap(b"\xff\xfe<not a record").unwrap_err();
        assert!(!refused.reason.is_empty(), "{}: refused without a reason", spec.channel());
    }
}

#[test]
fn a_bad_common_setting_names_the_channel_s_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.connectors.police_110.schedule = "every minute".into();
    s.connectors.yunshang_app.base_url = "ftp://example".into();
    let problems = s.connectors.check().join("\n");
    assert!(problems.contains("`connectors.police_110.schedule`"), "{problems}");
    assert!(problems.contains("`connectors.yunshang_app.base_url`"), "{problems}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_builds_as_what_it_says_and_maps_its_simulator_s_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo::demo_settings(settings(dir.path()), None);
    let fleet = Fleet::start(demo::scenario(400, 3), &mut s.connectors, false).await.unwrap();
    let http = HttpClient::new(s.http.clone());
    for spec in s.connectors.all() {
        let stats = Arc::new(ChannelStats::default());
        let built = spec.build(&http, Arc::new(Nowhere), stats).unwrap();
        match (built, spec.pull()) {
            (Built::Pull(connector), Some(_)) => {
                assert_eq!(connector.channel(), spec.channel());
                let page = connector.pull(None).await.unwrap();
                let appeals: Vec<_> = page
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        Inbound::Appeal(a) => Some(a),
                        Inbound::Rejected(_) => None,
                    })
                    .collect();
                assert!(
                    !appeals.is_empty(),
                    "{}: the simulator's first page mapped to nothing",
                    spec.channel()
                );
                for a in appeals {
                    assert_eq!(a.channel, spec.channel());
                    let again = spec.remap(a.raw.as_bytes()).unwrap();
                    assert_eq!((again.channel, &again.source_id), (a.channel, &a.source_id));
                }
            }
            (Built::Push(_), None) => {
                // Its simulator is a sender, aimed at our webhooks.
                let to = SendTo {
                    feed: fleet.scenario.feed(spec.channel()),
                    target: "http://127.0.0.1:9".into(),
                    cancel: fleet.cancel.clone(),
                };
                let sender = spec.sender(to).unwrap();
                assert!(sender.is_some(), "{}: a pushed channel without a simulated sender", spec.channel());
            }
            _ => panic!("{}: builds as neither what its settings say", spec.channel()),
        }
    }
    // Every pulled channel, and only those, got a simulated upstream.
    let served: Vec<_> = fleet.injectors.iter().map(|(c, _)| *c).collect();
    let pulled: Vec<_> = s
        .connectors
        .all()
        .iter()
        .filter(|c| c.pull().is_some())
        .map(|c| c.channel())
        .collect();
    assert_eq!(served, pulled);
    fleet.stop().await;
}
