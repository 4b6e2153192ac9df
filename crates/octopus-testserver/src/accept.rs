//! The accept loop the test proxies share: a listener on 127.0.0.1, a thread per client
//! connection, the clients counted, and the loop stopped when the handle is dropped.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

/// A listener on a loopback port whose clients are served by `serve`, each on a thread of
/// its own; stopped when dropped.
pub(crate) struct Accepting {
    addr: SocketAddr,
    stopped: Arc<AtomicBool>,
    connections: Arc<AtomicU64>,
}

impl Accepting {
    /// Listen, threads named `name`, each client given to `serve`.
    pub fn start<F>(name: &str, serve: F) -> io::Result<Accepting>
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stopped = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicU64::new(0));
        let (stop, count) = (Arc::clone(&stopped), Arc::clone(&connections));
        let serve = Arc::new(serve);
        let each = format!("{name}-conn");
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    count.fetch_add(1, Ordering::SeqCst);
                    let serve = Arc::clone(&serve);
                    let _ = thread::Builder::new()
                        .name(each.clone())
                        .spawn(move || serve(client));
                }
            })?;
        Ok(Accepting {
            addr,
            stopped,
            connections,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections clients opened.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Accepting {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}
