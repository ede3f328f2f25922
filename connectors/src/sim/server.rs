//! Serving a simulator on loopback.

use axum::Router;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A simulator listening on `127.0.0.1` until its token is cancelled.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Binds `addr` (port 0 for any) and serves `router` until `cancel` fires.
pub async fn serve(router: Router, addr: SocketAddr, cancel: CancellationToken) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    let handle = tokio::spawn(async move {
        let res = axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "Simulator stopped with an error.");
        }
    });
    Ok(Running { addr, handle })
}

/// The simulators' clock: real time, in which a demo's week of appeals lies
/// entirely in the past (a backlog), or the paced demo's scenario time (see
/// [`crate::clock`]).
pub fn now() -> chrono::DateTime<chrono::FixedOffset> {
    crate::clock::now()
}
