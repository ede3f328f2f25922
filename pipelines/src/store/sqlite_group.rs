//! Group commit for the embedded store's single writer connection.
//!
//! A commit writes each dirty page to the WAL, and that, not the few
//! statements of a small write, is most of its cost; each transaction also
//! takes the one connection the workflow sink needs. Writes of one kind go
//! to one task instead, which commits whatever is waiting in one
//! transaction. Each caller hears back only once its write is committed. If
//! a shared transaction fails, each write is retried in a transaction of its
//! own, so one bad write never fails its neighbours.

use super::StoreError;
use crate::db::sqlite_direct::{Writer, write};
use rusqlite::Transaction;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most writes sharing one transaction.
const MAX_GROUP: usize = 256;

/// A kind of write that can share a transaction with others of its kind.
pub(crate) trait Grouped: Send + Sync + 'static {
    type Answer: Send + 'static;
    /// What these writes are, for warnings and errors.
    const WHAT: &'static str;
    /// Writes `group` inside the transaction `tx`, in order, answering each.
    fn write(tx: &Transaction<'_>, group: &[&Self]) -> Result<Vec<Self::Answer>, StoreError>;
}

/// Commits `group` in one transaction on the writer `db`.
pub(crate) fn commit<W: Grouped>(db: &Writer, group: &[&W]) -> Result<Vec<W::Answer>, StoreError> {
    write(db, |tx| W::write(tx, group))
}

type Answer<W> = oneshot::Sender<Result<<W as Grouped>::Answer, StoreError>>;

/// The sending side; the task ends when every clone is dropped.
pub(crate) struct Committer<W: Grouped> {
    tx: mpsc::Sender<(W, Answer<W>)>,
}

impl<W: Grouped> Clone for Committer<W> {
    fn clone(&self) -> Self {
        Committer { tx: self.tx.clone() }
    }
}

impl<W: Grouped> Committer<W> {
    pub(crate) fn start(db: Arc<Writer>) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(run(db, rx));
        Committer { tx }
    }

    /// Resolves once `write` is committed.
    pub(crate) async fn commit(&self, write: W) -> Result<W::Answer, StoreError> {
        let (answer, wait) = oneshot::channel();
        let stopped = || StoreError::WriterStopped(W::WHAT);
        self.tx.send((write, answer)).await.map_err(|_| stopped())?;
        wait.await.map_err(|_| stopped())?
    }
}

async fn run<W: Grouped>(db: Arc<Writer>, mut rx: mpsc::Receiver<(W, Answer<W>)>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let writes: Vec<&W> = group.iter().map(|(w, _)| w).collect();
        match commit(&db, &writes) {
            Ok(answers) => {
                for ((_, answer), a) in group.into_iter().zip(answers) {
                    // A caller that stopped waiting is fine: its write is committed.
                    let _ = answer.send(Ok(a));
                }
            }
            Err(e) => {
                if group.len() > 1 {
                    tracing::warn!(error = %e, writes = group.len(), "A group of {} failed; committing each on its own.", W::WHAT);
                }
                for (w, answer) in group {
                    let _ = answer.send(commit(&db, &[&w]).map(|mut a| a.remove(0)));
                }
            }
        }
    }
}
