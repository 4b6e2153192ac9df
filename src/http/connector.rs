//! The transport under each agent: ureq's default connectors, noting on the calling thread
//! whether a request made a new connection or took one from the pool. A request that fails
//! on a pooled connection the server had already closed is sent again (see
//! `Client::send`); one that fails on a fresh connection is not.

use std::cell::Cell;

use ureq::unversioned::transport::{ConnectionDetails, Connector, DefaultConnector, Transport};

thread_local! {
    static CONNECTED: Cell<bool> = const { Cell::new(false) };
}

/// ureq's default connector, recording new connections.
#[derive(Debug, Default)]
pub(crate) struct Recording(DefaultConnector);

impl Connector<()> for Recording {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let transport = self.0.connect(details, chained)?;
        if transport.is_some() {
            CONNECTED.set(true);
        }
        Ok(transport)
    }
}

/// Run `request` on this thread; also says whether it made a new connection.
pub(crate) fn noting_connections<T>(request: impl FnOnce() -> T) -> (T, bool) {
    CONNECTED.set(false);
    let result = request();
    (result, CONNECTED.get())
}
