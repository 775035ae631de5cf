//! The two backends behind one query text: a value of either backend ([`Db`]: pools,
//! transactions, connections), and the `on!` macro that runs one expression (one SQL text,
//! one bind list, one `FromRow` type) against whichever it holds, with `execute!`, `fetch!`
//! and `fetch_scalar!` for the usual shapes.
//! Both drivers accept `$1` placeholders, so the same text serves both; the macro compiles the
//! expression once per driver, each with its native types.

use std::ops::DerefMut;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::error::Result;

/// One value per backend: the SQLite or the PostgreSQL flavour of a pool, a transaction or a
/// connection.
#[derive(Debug, Clone)]
pub(crate) enum Db<S, P> {
    /// SQLite's.
    Sqlite(S),
    /// PostgreSQL's.
    Postgres(P),
}

/// A connection pool of either backend.
pub(crate) type Pool = Db<SqlitePool, PgPool>;

/// An open transaction of either backend; dropped without [`Tx::commit`], it rolls back.
pub(crate) type Tx = Db<Transaction<'static, Sqlite>, Transaction<'static, Postgres>>;

/// A connection taken from a pool of either backend.
pub(crate) type PooledConn = Db<PoolConnection<Sqlite>, PoolConnection<Postgres>>;

/// A borrowed connection of either backend: what the `*_in` helpers take, so they run the
/// same inside a transaction ([`Tx::conn`]) and on a pooled connection.
pub(crate) type Conn<'c> = Db<&'c mut SqliteConnection, &'c mut PgConnection>;

/// Runs `$body` with `$e` bound to the executor of `$db` (a [`Pool`] or a [`Conn`]): one
/// expression, type-checked once per backend.
///
/// ```ignore
/// let n: i64 = on!(self.read, |e| sqlx::query_scalar(COUNT).fetch_one(e).await)?;
/// ```
macro_rules! on {
    ($db:expr, |$e:ident| $body:expr) => {
        match $db.executor() {
            $crate::store::db::Db::Sqlite($e) => $body,
            $crate::store::db::Db::Postgres($e) => $body,
        }
    };
}
pub(crate) use on;

/// Runs statement `$sql` with the arguments bound in order on `$db` (a [`Pool`] or a
/// [`Conn`]); the number of rows it changed, or the crate's [`Error`](crate::error::Error).
///
/// ```ignore
/// execute!(self.pool, "UPDATE users SET last_seen_at = $1 WHERE id = $2", now, id)?;
/// ```
macro_rules! execute {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::db::on!($db, |e| sqlx::query($sql)
            $(.bind($arg))*
            .execute(e)
            .await
            .map(|done| done.rows_affected()))
        .map_err($crate::error::Error::from)
    };
}
pub(crate) use execute;

/// Runs query `$sql` with the arguments bound in order on `$db` (a [`Pool`] or a [`Conn`]),
/// mapping rows through `FromRow`; `$fetch` is the sqlx method (`fetch_one`, `fetch_optional`,
/// `fetch_all`). Errors are the crate's [`Error`](crate::error::Error).
///
/// ```ignore
/// let user: Option<UserRow> =
///     fetch!(self.read, fetch_optional, "SELECT * FROM users WHERE id = $1", id)?;
/// ```
macro_rules! fetch {
    ($db:expr, $fetch:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::db::on!($db, |e| sqlx::query_as($sql)$(.bind($arg))*.$fetch(e).await)
            .map_err($crate::error::Error::from)
    };
}
pub(crate) use fetch;

/// [`fetch!`] for a query of one column, decoded as a plain value.
macro_rules! fetch_scalar {
    ($db:expr, $fetch:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::db::on!($db, |e| sqlx::query_scalar($sql)$(.bind($arg))*.$fetch(e).await)
            .map_err($crate::error::Error::from)
    };
}
pub(crate) use fetch_scalar;

impl Pool {
    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Db::Sqlite(p.begin().await?),
            Db::Postgres(p) => Db::Postgres(p.begin().await?),
        })
    }

    /// Takes a connection from the pool.
    pub(crate) async fn acquire(&self) -> Result<PooledConn> {
        Ok(match self {
            Db::Sqlite(p) => Db::Sqlite(p.acquire().await?),
            Db::Postgres(p) => Db::Postgres(p.acquire().await?),
        })
    }

    /// The pool as an executor of its backend.
    pub(crate) fn executor(&self) -> Db<&SqlitePool, &PgPool> {
        match self {
            Db::Sqlite(p) => Db::Sqlite(p),
            Db::Postgres(p) => Db::Postgres(p),
        }
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        on!(self, |p| p.close().await);
    }
}

impl Conn<'_> {
    /// The connection as an executor of its backend (a reborrow, so it can serve again).
    pub(crate) fn executor(&mut self) -> Conn<'_> {
        match self {
            Db::Sqlite(c) => Db::Sqlite(&mut **c),
            Db::Postgres(c) => Db::Postgres(&mut **c),
        }
    }
}

impl<S, P> Db<S, P>
where
    S: DerefMut<Target = SqliteConnection>,
    P: DerefMut<Target = PgConnection>,
{
    /// The connection underneath (a transaction's or a pooled one).
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Db::Sqlite(c) => Db::Sqlite(&mut **c),
            Db::Postgres(c) => Db::Postgres(&mut **c),
        }
    }
}

impl Tx {
    /// Commits the transaction.
    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Db::Sqlite(t) => t.commit().await?,
            Db::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
