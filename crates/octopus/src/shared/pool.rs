//! A few Redis connections kept for reuse: a worker takes one for a round trip and gives it
//! back, so a thousand workers need only as many connections as talk to Redis at once.

use std::sync::Mutex;
use std::time::Duration;

use redis::{Client, Connection, RedisResult};

/// Connections kept idle, at most.
const IDLE: usize = 16;
/// Deadline to connect, and to wait for an answer.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct Pool {
    client: Client,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub fn new(client: Client) -> Pool {
        Pool {
            client,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Run `f` on a connection (a kept one, or a new one); a connection that failed is not
    /// kept.
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> RedisResult<T> {
        let kept = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match kept {
            Some(conn) => conn,
            None => {
                let conn = self.client.get_connection_with_timeout(TIMEOUT)?;
                conn.set_read_timeout(Some(TIMEOUT))?;
                conn.set_write_timeout(Some(TIMEOUT))?;
                conn
            }
        };
        let result = f(&mut conn);
        if result.is_ok()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(conn);
        }
        result
    }
}
