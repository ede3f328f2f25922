//! The retrying client against a real HTTP server on loopback.

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use minqing_connectors::ConnectorError;
use minqing_connectors::http::{HttpClient, RetryPolicy};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Serves `script[n]` for the n-th request, then 200 `done`; records arrival times.
async fn serve(script: Vec<&'static str>) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let hits = Arc::new(AtomicU32::new(0));
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let app = Router::new().route(
        "/x",
        get(move || {
            let (hits, t, script) = (hits.clone(), t.clone(), script.clone());
            async move {
                t.lock().unwrap().push(Instant::now());
                let n = hits.fetch_add(1, Ordering::SeqCst) as usize;
                match script.get(n).copied() {
                    Some("500") => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
                    Some("429") => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response(),
                    Some("400") => (StatusCode::BAD_REQUEST, "bad query").into_response(),
                    Some("slow") => {
                        tokio::time::sleep(Duration::from_millis(800)).await;
                        "late".into_response()
                    }
                    _ => "done".into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/x"), times)
}

fn client(max_attempts: u32) -> HttpClient {
    HttpClient::new(RetryPolicy {
        max_attempts,
        base_delay_ms: 1,
        max_delay_ms: 5,
        timeout_ms: 300,
        ..RetryPolicy::default()
    })
}

#[tokio::test]
async fn retries_5xx_429_and_timeouts_then_succeeds() {
    let (url, times) = serve(vec!["500", "429", "slow"]).await;
    let resp = client(5).send(&url, |c| c.get(&url)).await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "done");
    let t = times.lock().unwrap();
    assert_eq!(t.len(), 4, "500, 429, timeout, then success");
    // The 429 said Retry-After: 1; the next request waited for it.
    assert!(t[2] - t[1] >= Duration::from_millis(950), "Retry-After was not honoured");
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let (url, times) = serve(vec!["400"]).await;
    let err = client(5).send(&url, |c| c.get(&url)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Status { status: 400, .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(times.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn gives_up_after_the_attempt_limit() {
    let (url, times) = serve(vec!["500", "500", "500", "500"]).await;
    let err = client(3).send(&url, |c| c.get(&url)).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Exhausted { attempts: 3, .. }), "{err}");
    assert_eq!(times.lock().unwrap().len(), 3);
}
