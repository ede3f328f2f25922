use crate::helpers::{quiet, settings};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection or `limit` passes; returns
/// what came and whether it closed.
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// Slow callers are cut off: half a request line by the header timeout, a
/// body that stops coming by the request timeout (408); connections past
/// the limit wait, and /healthz answers once a slot frees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_numerous_callers_do_not_hold_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.server.limits.header_timeout_secs = 1;
    s.server.limits.request_timeout_secs = 2;
    s.server.limits.max_connections = 20;
    let rt = quiet(&s).await;
    let addr = rt.api_addr;

    // Twenty connections that never finish their headers fill every slot.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /heal").await.unwrap();
        slow.push(c);
    }
    // A twenty-first caller waits for a slot, and gets one when the header
    // timeout closes the slow ones.
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited for a slot");
    for c in &mut slow {
        let (_, closed) = read_until_closed(c, Duration::from_secs(3)).await;
        assert!(closed, "a connection without headers was left open");
    }

    // A body that stops coming: 408 once the request timeout passes.
    let mut c = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /webhooks/grid HTTP/1.1\r\nhost: x\r\nx-grid-timestamp: {}\r\ncontent-length: 1000\r\n\r\n{{\"batch",
        chrono::Utc::now().timestamp()
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut c, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    rt.shutdown().await;
}

/// Issue 31, item 11: a store that answers pings but cannot write (a full
/// disk) makes `/readyz` answer 503 naming it, without the backend's own
/// error text; the first write that goes through makes it ready again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_a_store_that_cannot_write_without_its_internals() {
    use minqing_pipelines::sink::WriteError;
    // The whole gateway, as spawn_app starts it (issue 32, item 7).
    let app = minqing::testing::spawn_app(|_| {}).await.unwrap();
    let health = app.runtime.write_health.clone();
    let addr = app.runtime.api_addr;
    let ready = || async {
        let r = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(ready().await.0, 200);
    let full: Result<(), WriteError> = Err(WriteError {
        message: "database or disk is full: /srv/minqing/warehouse.db".into(),
        resource: true,
    });
    health[1].record(&full);
    let (code, body) = ready().await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"warehouse\":\"cannot write\""), "{body}");
    assert!(
        !body.contains("/srv/minqing") && !body.contains("disk is full"),
        "internals shown: {body}"
    );
    health[1].record(&Ok::<(), WriteError>(()));
    assert_eq!(ready().await.0, 200);
    app.shutdown().await;
}
