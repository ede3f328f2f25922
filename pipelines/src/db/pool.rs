//! Connection pools without sqlx's maintenance sweep.
//!
//! sqlx 0.9.0 can count a pool's idle connections below zero when a
//! connection's release races an acquire. Its maintenance task then loops
//! `0..num_idle` (now `usize::MAX`) without ever yielding: one core stays at
//! 100% and the runtime can wedge. A CI run hung this way in a quarantine
//! test (sqlx issue 3645; the fix, pull 4289, is in no release yet).
//!
//! The task only runs when a pool has an idle timeout or a maximum
//! lifetime (both are on by default) or a minimum size. Our pools need
//! none of them. SQLite files do not go away. PostgreSQL connections the
//! server has killed are caught by the ping before each acquire, and a
//! gateway holds at most `store.postgres.max_connections` of them.
//! Every pool minqing opens, tests included, starts from [`options`].

use sqlx::pool::PoolOptions;
use sqlx::{Database, Pool};

/// Pool options with no idle timeout, no maximum lifetime and no minimum
/// size, so sqlx starts no maintenance task.
pub fn options<DB: Database>() -> PoolOptions<DB> {
    PoolOptions::new().idle_timeout(None).max_lifetime(None).min_connections(0)
}

/// What `sqlx::Pool::connect(url)` does, from [`options`]: for tools and
/// tests that only need a connection.
pub async fn connect<DB: Database>(url: &str) -> Result<Pool<DB>, sqlx::Error> {
    options().connect(url).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pool_gets_a_maintenance_task() {
        // sqlx's defaults would start one (10 min idle, 30 min lifetime).
        let defaults = PoolOptions::<sqlx::Sqlite>::new();
        assert!(defaults.get_idle_timeout().is_some() && defaults.get_max_lifetime().is_some());
        let sqlite = options::<sqlx::Sqlite>();
        assert_eq!((sqlite.get_idle_timeout(), sqlite.get_max_lifetime()), (None, None));
        let pg = options::<sqlx::Postgres>();
        assert_eq!(
            (pg.get_idle_timeout(), pg.get_max_lifetime(), pg.get_min_connections()),
            (None, None, 0)
        );
    }
}
