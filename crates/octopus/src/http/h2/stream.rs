//! One HTTP/2 stream: a request sent on a shared connection (`Sending`), its answer waited
//! for on no thread, and its body read (`StreamBody`), its window released as it is read.
//!
//! Invariants: the request carries what the HTTP/1.1 exchange's would (its headers but the
//! connection's own, `Authorization` from the URL, the body's length), its authority the
//! `Host` given or the URL's; every wait ends by the request's deadline; a stream gives its
//! place on the connection back when it ends or is dropped.

use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use bytes::{Buf, Bytes};
use h2::RecvStream;
use h2::client::ResponseFuture;
use http::{HeaderName, HeaderValue, header};

use crate::http::error::{Error, Step, Timeout};
use crate::http::h1::head::Outgoing;
use crate::http::h2::conn::Slot;
use crate::http::h2::error;
use crate::http::h2::wake::wait_for_either;
use crate::http::wire::Watch;
use crate::input::push_host;
use crate::timings::Timings;

/// Headers of the connection, not the request: never sent on HTTP/2 (RFC 9113, 8.2.2).
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// A stream's request sent, its answer not read yet. It holds no thread.
#[derive(Debug)]
pub(crate) struct Sending {
    response: ResponseFuture,
    /// The answer, once it came.
    answer: Option<Result<http::Response<RecvStream>, Error>>,
    sent_at: Instant,
    /// Where the time went (the connection's steps, for the stream that made it).
    timings: Timings,
    /// Dropped last: the stream's end is sent once the rest is dropped (`Slot`'s drop).
    slot: Slot,
}

/// A response head read on a stream, its body left to its reader, and where its time went.
pub(crate) struct Answered {
    pub response: http::Response<StreamBody>,
    pub timings: Timings,
}

/// Send `request` on `slot`'s connection; `timings`: the new connection's steps, for the
/// stream that made it.
pub(crate) fn send<'a, H>(
    slot: Slot,
    request: Outgoing<'a, H>,
    timings: Timings,
) -> Result<Sending, Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let (head, body) = head(&request)?;
    let sent_at = Instant::now();
    let response = slot.conn.begin(head, body)?;
    let mut sending = Sending {
        slot,
        response,
        answer: None,
        sent_at,
        timings,
    };
    // Polled once now, so that its waker is known before it waits: another thread may take
    // its answer in first.
    sending.poll(false);
    Ok(sending)
}

/// The request as the `h2` crate sends it, and its body.
fn head<'a, H>(request: &Outgoing<'a, H>) -> Result<(http::Request<()>, Option<Bytes>), Error>
where
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + Clone,
{
    let (method, url) = (request.method, request.url);
    let added = request.added()?;
    let host = (request.headers.clone())
        .find(|(name, _)| *name == header::HOST)
        .and_then(|(_, value)| value.to_str().ok().map(str::to_string));
    let authority = host.unwrap_or_else(|| {
        let mut out = Vec::new();
        push_host(&mut out, url);
        String::from_utf8_lossy(&out).into_owned()
    });
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let uri = format!("{}://{authority}{target}", url.scheme());
    let (mut head, ()) = http::Request::new(()).into_parts();
    head.method = method.clone();
    head.uri = uri
        .parse()
        .map_err(|e: http::uri::InvalidUri| Error::BadUri(e.to_string()))?;
    for (name, value) in request.headers.clone() {
        let own = CONNECTION_SPECIFIC.contains(&name.as_str()) || *name == header::HOST;
        if own || (*name == header::TE && value != "trailers") {
            continue;
        }
        head.headers.append(name.clone(), value.clone());
    }
    for (name, value) in added.into_iter().flatten() {
        head.headers.insert(name, value);
    }
    let body = request.body.map(Bytes::copy_from_slice);
    Ok((http::Request::from_parts(head, ()), body))
}

impl Sending {
    /// When the stream's request was handed to its connection.
    pub fn sent_at(&self) -> Instant {
        self.sent_at
    }

    /// What to wait for: the connection's descriptor, or this stream's bell (`conn.rs`).
    pub fn watch(&mut self) -> Watch {
        if self.answer.is_some() {
            // Already answered: given back at once.
            self.slot.bell.ring();
            return self.slot.bell.watch();
        }
        self.slot.conn.watch_for(&self.slot)
    }

    /// Whether the answer is there (or the stream failed): the connection is driven first.
    pub fn ready(&mut self) -> bool {
        self.poll(true)
    }

    /// Whether the answer is there, the connection driven first if `drive`.
    fn poll(&mut self, drive: bool) -> bool {
        if self.answer.is_some() {
            return true;
        }
        let response = &mut self.response;
        let polled =
            (self.slot.conn).poll_stream(&self.slot, drive, |cx| Pin::new(&mut *response).poll(cx));
        if let Poll::Ready(answer) = polled {
            self.timings.ttfb = Some(self.sent_at.elapsed());
            self.answer = Some(answer.map_err(|e| error(&e)));
        }
        self.answer.is_some()
    }

    /// The response head (waiting on this thread until `deadline` if it is not there); the
    /// body is left to its reader.
    pub fn response(mut self, deadline: Instant) -> Result<Answered, Error> {
        while !self.ready() {
            if Instant::now() >= deadline {
                return Err(Timeout::request(Step::Head));
            }
            wait_for_either(self.slot.conn.fd(), &self.slot.bell, deadline, Step::Head)?;
        }
        let Some(answer) = self.answer.take() else {
            return Err(Error::protocol("no answer"));
        };
        let (parts, recv) = answer?.into_parts();
        let body = StreamBody {
            slot: self.slot,
            recv,
            chunk: Bytes::new(),
            deadline,
            ended: false,
        };
        Ok(Answered {
            response: http::Response::from_parts(parts, body),
            timings: self.timings,
        })
    }
}

/// Reads one stream's body.
#[derive(Debug)]
pub(crate) struct StreamBody {
    recv: RecvStream,
    /// What was taken from the stream and not read yet.
    chunk: Bytes,
    deadline: Instant,
    ended: bool,
    /// Dropped last (see `Sending`).
    slot: Slot,
}

impl Read for StreamBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.chunk.is_empty() {
                let n = buf.len().min(self.chunk.len());
                if let (Some(to), Some(from)) = (buf.get_mut(..n), self.chunk.get(..n)) {
                    to.copy_from_slice(from);
                }
                self.chunk.advance(n);
                return Ok(n);
            }
            if self.ended || buf.is_empty() {
                return Ok(0);
            }
            let StreamBody { slot, recv, .. } = self;
            match slot.conn.poll_stream(slot, true, |cx| recv.poll_data(cx)) {
                Poll::Ready(Some(Ok(data))) => {
                    // The window reopens as the body is read; the update goes out now.
                    let _ = recv.flow_control().release_capacity(data.len());
                    slot.conn.send_pending();
                    self.chunk = data;
                }
                Poll::Ready(None) => self.ended = true,
                Poll::Ready(Some(Err(e))) => return Err(error(&e).into_io()),
                Poll::Pending => {
                    if Instant::now() >= self.deadline {
                        return Err(Timeout::request(Step::Body).into_io());
                    }
                    wait_for_either(slot.conn.fd(), &slot.bell, self.deadline, Step::Body)
                        .map_err(Error::into_io)?;
                }
            }
        }
    }
}
