use crate::helpers::{counts, settings};
use minqing::sim::demo;
use minqing::sim::fleet::Fleet;
use minqing_connectors::Channel;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_minqing"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the minqing binary starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_restarts_without_losing_or_doubling_a_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = demo::scenario(4000, 11);
    let expected = scenario.expected.clone();
    let want_tickets: u64 = expected.values().map(|e| e.tickets).sum();
    let mut s = demo::demo_settings(settings(dir.path()), None);
    let mut fleet = Fleet::start(scenario, &mut s.connectors, true).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    s.server.listen = format!("127.0.0.1:{port}");
    s.simulators.enabled = false;
    let config = dir.path().join("crash.toml");
    std::fs::write(&config, toml::to_string(&s).unwrap()).unwrap();
    let db = dir.path().join("minqing.db");

    let mut child = spawn(&config);
    fleet.push(&s.connectors, &format!("http://127.0.0.1:{port}")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done: u64 = counts(&db).await.values().map(|c| c.tickets).sum();
        if done >= want_tickets / 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the gateway made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL: no graceful anything
    child.wait().unwrap();
    let at_kill: u64 = counts(&db).await.values().map(|c| c.tickets).sum();
    assert!(at_kill < want_tickets, "the kill came too late to test anything");

    let mut child = spawn(&config);
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let c = counts(&db).await;
        let complete = Channel::ALL.iter().all(|ch| {
            let (got, want) = (c.get(ch).copied().unwrap_or_default(), expected[ch]);
            got.tickets >= want.tickets && got.quarantined >= want.quarantined
        });
        if complete || Instant::now() > deadline {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Let in-flight retries land, then check that nothing more arrived.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = counts(&db).await;
    // The warehouse holds what the store decided, no more and no other
    // (issue 31, item 7: it once held a duplicate swapped with its
    // original, and an escalation the store never made).
    let deadline = Instant::now() + Duration::from_secs(60);
    let (store_view, warehouse_view) = loop {
        let views = (decisions(&db).await, decisions(&dir.path().join("warehouse.db")).await);
        if views.0 == views.1 || Instant::now() > deadline {
            break views;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    fleet.stop().await;
    assert_eq!(done, after, "tickets kept arriving after every appeal was in");
    for c in Channel::ALL {
        let (got, want) = (after.get(&c).copied().unwrap_or_default(), expected[&c]);
        assert_eq!(got.tickets, want.tickets, "{c}: tickets (killed at {at_kill} of {want_tickets})");
        assert_eq!(got.quarantined, want.quarantined, "{c}: quarantined");
        assert_eq!(got.distinct_sources, got.tickets, "{c}: a ticket doubled");
        assert_eq!(got.received_events, got.tickets, "{c}: received events");
    }
    // A duplicate is counted on the channel whose copy arrived second, and
    // arrival order across channels is not fixed: compare the total.
    let dups: u64 = after.values().map(|c| c.duplicates).sum();
    assert_eq!(dups, expected.values().map(|e| e.duplicates).sum::<u64>(), "duplicates");
    assert_eq!(store_view.0.len() as u64, want_tickets);
    let differ = store_view.0.iter().zip(&warehouse_view.0).filter(|(a, b)| a != b).count();
    assert!(
        store_view.0 == warehouse_view.0,
        "tickets: store {} vs warehouse {}, {differ} differ in duplicate_of or cluster_id",
        store_view.0.len(),
        warehouse_view.0.len()
    );
    let only_warehouse: Vec<&String> = warehouse_view.1.difference(&store_view.1).take(5).collect();
    let only_store: Vec<&String> = store_view.1.difference(&warehouse_view.1).take(5).collect();
    assert!(
        only_warehouse.is_empty() && only_store.is_empty(),
        "events only in the warehouse: {only_warehouse:?}; only in the store: {only_store:?}"
    );
}

/// Every ticket's (id, duplicate_of, cluster_id), sorted, and every event
/// id, from the workflow store or the warehouse (whose columns hold '' for
/// none).
async fn decisions(db: &std::path::Path) -> (Vec<(String, String, String)>, std::collections::BTreeSet<String>) {
    let pool = minqing_pipelines::db::pool::connect::<sqlx::Sqlite>(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let tickets = sqlx::query_as("SELECT ticket_id, COALESCE(duplicate_of, ''), COALESCE(cluster_id, '') FROM tickets ORDER BY ticket_id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let events: Vec<String> = sqlx::query_scalar("SELECT event_id FROM ticket_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    (tickets, events.into_iter().collect())
}

/// `minqing run` on a config file, its log read line by line. Dropped, it
/// kills the gateway, so a failed assertion leaves no process holding a port.
struct Logged {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Logged {
    fn start(config: &std::path::Path) -> Logged {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_minqing"))
            .args(["--config", config.to_str().unwrap(), "run"])
            .env("RUST_LOG", "info")
            .envs(crate::helpers::own_secret_env())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the minqing binary starts");
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Logged { child, lines }
    }

    /// The first line from now on that holds `needle`.
    #[track_caller]
    fn wait_for(&self, needle: &str) -> String {
        use std::sync::mpsc::RecvTimeoutError;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!("the gateway exited before logging {needle:?}"),
            }
        }
        panic!("no log line with {needle:?} in 60 s");
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGHUP re-reads the triage rules (and loads the warehouse's dimension
/// tables again); a broken file is refused with an error in the log and
/// the rules in force stay.
#[test]
fn sighup_reloads_the_triage_rules_and_a_bad_file_keeps_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("triage.toml");
    let good = include_str!("../../config/triage.toml");
    std::fs::write(&rules, good).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("hup.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\n[simulators]\nenabled = false\n[forwarder]\nenabled = false\n[triage]\nrules = {:?}\n",
            dir.path().display().to_string(),
            rules.display().to_string()
        ),
    )
    .unwrap();
    let mut gw = Logged::start(&config);
    gw.wait_for("Listening.");
    std::fs::write(&rules, good.replace("forward_window_chars = 12", "forward_window_chars = 20")).unwrap();
    gw.signal("HUP");
    gw.wait_for("Triage rules reloaded.");
    // The warehouse's dimensions follow the rules.
    gw.wait_for("Warehouse dimensions reloaded.");
    std::fs::write(&rules, good.replace("id = \"express\"", "id = \"bank\"")).unwrap();
    gw.signal("HUP");
    let line = gw.wait_for("NOT reloaded");
    assert!(line.contains("id `bank` is used twice"), "{line}");
    // Still running on the previous rules.
    assert!(gw.child.try_wait().unwrap().is_none(), "the gateway died on a bad reload");
}

/// SIGTERM and SIGINT shut the gateway down gracefully and with status 0,
/// even when SIGTERM comes while it is still starting: its handler is in
/// place before start-up begins.
#[test]
fn sigterm_in_start_up_and_sigint_later_both_shut_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("stop.toml");
    std::fs::write(
        &config,
        format!(
            // A small simulated day: a test build plans the default one slowly.
            "data_dir = {:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\n[forwarder]\nenabled = false\n\
             [simulators]\nappeals_per_hour = 50\nhours = 2\n",
            dir.path().display().to_string()
        ),
    )
    .unwrap();
    // The simulators' line is the first `run` logs, before the stores open.
    for (when, signal) in [("Built-in simulators on", "TERM"), ("Listening.", "INT")] {
        let mut gw = Logged::start(&config);
        gw.wait_for(when);
        gw.signal(signal);
        gw.wait_for("Shutting down.");
        let status = gw.child.wait().unwrap();
        assert!(status.success(), "SIG{signal} after {when:?}: {status}");
    }
}

/// A ClickHouse address that accepts and never answers: start-up says what
/// it waits on, a SIGTERM then ends it cleanly, and without a stop it
/// fails after `timeout_secs` naming the setting instead of hanging.
#[test]
fn a_silent_warehouse_at_start_up_is_named_and_does_not_hold_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("silent.toml");
    let write = |timeout: u64| {
        std::fs::write(
            &config,
            format!(
                "data_dir = {:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\n[simulators]\nenabled = false\n[forwarder]\nenabled = false\n\
                 [warehouse]\nbackend = \"clickhouse\"\n[warehouse.clickhouse]\nurl = \"http://127.0.0.1:{silent_port}\"\ntimeout_secs = {timeout}\n",
                dir.path().display().to_string()
            ),
        )
        .unwrap()
    };
    write(600);
    let mut gw = Logged::start(&config);
    gw.wait_for("Opening the warehouse.");
    std::thread::sleep(Duration::from_millis(300));
    gw.signal("TERM");
    gw.wait_for("Stopped during start-up");
    assert!(gw.child.wait().unwrap().success());

    write(1);
    let gw = Logged::start(&config);
    let line = gw.wait_for("did not answer within 1 s");
    assert!(line.contains("warehouse.clickhouse"), "{line}");
    drop(silent);
}
