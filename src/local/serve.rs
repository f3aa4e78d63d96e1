//! Serves one listener (the API or a registry) with the limits a server left
//! running needs against slow or hostile clients:
//!
//! - **headers**: a request's head must arrive within `header_read_timeout`
//!   of its first byte (a half-sent request is dropped);
//! - **idle**: a connection with no request in flight is closed after
//!   `idle_timeout` without a byte; so is one whose request body stops
//!   arriving, or whose client stops reading the answer, for as long. A slow
//!   upload that keeps sending is never cut, and neither is a request vcr-local
//!   itself takes time over (a `delayMs` fault);
//! - **connections**: at most `max_connections` at once. When full, a new
//!   connection takes the place of the one that has waited on its client the
//!   longest (idle, half-sent, stalled); one whose request is being worked on
//!   is never displaced. So held connections cannot keep `/_local/health` or
//!   anyone else out.
//!
//! Each connection's activity is watched at three points: its socket (bytes
//! read and written), its request body (waiting for bytes) and its answer
//! (a request is in flight until the answer's body is done).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt as _;

/// Limits on each listener's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request's head (request line and headers) may take to
    /// arrive, from its first byte.
    pub header_read_timeout: Duration,
    /// How long a connection may go without a byte while nothing is in
    /// flight, or while its request body or its reader is stalled.
    pub idle_timeout: Duration,
    /// Connections held at once per listener.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            // Longer than the idle time of common clients' connection pools
            // (Go's and reqwest's: 90 s), so that they close first.
            idle_timeout: Duration::from_secs(120),
            max_connections: 512,
        }
    }
}

/// What one connection is doing, as far as the limits care.
#[derive(Debug)]
struct Activity {
    /// Requests whose answer is not done yet.
    in_flight: usize,
    /// When the first byte of a request head arrived (none in flight).
    head_started: Option<Instant>,
    /// The last byte read or written.
    last_progress: Instant,
    /// Since when a handler has waited for request body bytes.
    body_wait: Option<Instant>,
    /// Since when a write of the answer has waited for the client to read.
    write_wait: Option<Instant>,
}

impl Activity {
    /// Why the connection must close now, if it must.
    fn expired(&self, now: Instant, limits: &ConnectionLimits) -> Option<&'static str> {
        let older = |t: Option<Instant>, limit: Duration| t.is_some_and(|t| now - t > limit);
        if older(self.head_started, limits.header_read_timeout) {
            Some("its request headers did not arrive in time")
        } else if self.in_flight == 0 && older(Some(self.last_progress), limits.idle_timeout) {
            Some("it was idle")
        } else if older(self.body_wait, limits.idle_timeout) {
            Some("its request body stopped arriving")
        } else if older(self.write_wait, limits.idle_timeout) {
            Some("its client stopped reading the answer")
        } else {
            None
        }
    }

    /// Since when it has been waiting on its client; `None` while vcr-local
    /// is working on its request.
    fn waiting_since(&self) -> Option<Instant> {
        if self.in_flight == 0 {
            Some(self.head_started.unwrap_or(self.last_progress))
        } else {
            match (self.body_wait, self.write_wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
    }
}

/// A connection being served.
struct Conn {
    activity: Mutex<Activity>,
    /// Tells its task to drop it.
    close: Notify,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            activity: Mutex::new(Activity {
                in_flight: 0,
                head_started: None,
                last_progress: Instant::now(),
                body_wait: None,
                write_wait: None,
            }),
            close: Notify::new(),
        }
    }

    fn read_some(&self) {
        let mut a = self.activity.lock();
        a.last_progress = Instant::now();
        if a.in_flight == 0 && a.head_started.is_none() {
            a.head_started = Some(a.last_progress);
        }
    }

    fn wrote_some(&self) {
        let mut a = self.activity.lock();
        a.last_progress = Instant::now();
        a.write_wait = None;
    }

    fn write_blocked(&self) {
        self.activity
            .lock()
            .write_wait
            .get_or_insert_with(Instant::now);
    }

    fn body_waiting(&self, waiting: bool) {
        let mut a = self.activity.lock();
        match waiting {
            true => {
                a.body_wait.get_or_insert_with(Instant::now);
            }
            false => a.body_wait = None,
        }
    }
}

/// A request in flight on a connection, until its answer's body is done.
struct InFlight(Arc<Conn>);

impl InFlight {
    fn start(conn: &Arc<Conn>) -> InFlight {
        let mut a = conn.activity.lock();
        a.in_flight += 1;
        a.head_started = None;
        drop(a);
        InFlight(conn.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut a = self.0.activity.lock();
        a.in_flight -= 1;
        a.last_progress = Instant::now();
        a.body_wait = None;
    }
}

/// The connections of one listener.
struct Registry {
    limits: ConnectionLimits,
    what: &'static str,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// Signalled when a connection ends.
    ended: Notify,
    /// When a refused connection was last logged (a flood logs once a while).
    last_refusal_log: Mutex<Option<Instant>>,
}

impl Registry {
    /// Makes room for a new connection and registers it; `None` when every
    /// connection held is being worked on.
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let mut conns = self.conns.lock();
        if conns.len() >= self.limits.max_connections {
            let longest = conns
                .iter()
                .filter_map(|(id, c)| c.activity.lock().waiting_since().map(|t| (t, *id)))
                .min();
            let (_, id) = longest?;
            if let Some(evicted) = conns.remove(&id) {
                evicted.close.notify_one();
            }
            tracing::debug!(
                listener = self.what,
                "at the connection limit: closed the connection that waited longest on its client"
            );
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new());
        conns.insert(id, conn.clone());
        Some((id, conn))
    }

    fn remove(&self, id: u64) {
        self.conns.lock().remove(&id);
        self.ended.notify_waiters();
    }

    /// Closes the connections past a limit.
    fn sweep(&self) {
        let now = Instant::now();
        let mut conns = self.conns.lock();
        conns.retain(|_, c| match c.activity.lock().expired(now, &self.limits) {
            None => true,
            Some(why) => {
                tracing::info!(listener = self.what, "closing a connection: {why}");
                c.close.notify_one();
                false
            }
        });
    }

    fn log_refusal(&self) {
        let mut last = self.last_refusal_log.lock();
        if last.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            *last = Some(Instant::now());
            tracing::warn!(
                listener = self.what,
                max = self.limits.max_connections,
                "connection refused: every connection held is busy with a request"
            );
        }
    }

    fn is_empty(&self) -> bool {
        self.conns.lock().is_empty()
    }
}

/// How often the limits are checked.
fn tick(limits: &ConnectionLimits) -> Duration {
    (limits.header_read_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Serves `router` on `listener` until `stop` turns true, then lets the
/// requests in flight finish and returns once every connection has ended.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    what: &'static str,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let registry = Arc::new(Registry {
        limits,
        what,
        conns: Mutex::default(),
        next_id: AtomicU64::new(0),
        ended: Notify::new(),
        last_refusal_log: Mutex::new(None),
    });
    let for_connections = stop.clone();
    let mut ticker = tokio::time::interval(tick(&limits));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match registry.admit() {
                    Some((id, conn)) => {
                        let task = connection(stream, conn, router.clone(), for_connections.clone());
                        let registry = registry.clone();
                        tokio::spawn(async move {
                            task.await;
                            registry.remove(id);
                        });
                    }
                    None => registry.log_refusal(),
                },
                Err(e) => accept_failed(e).await,
            },
            _ = ticker.tick() => registry.sweep(),
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    // The connections close as their requests finish; stalled ones still
    // expire.
    loop {
        let ended = registry.ended.notified();
        tokio::pin!(ended);
        ended.as_mut().enable();
        if registry.is_empty() {
            return Ok(());
        }
        tokio::select! {
            _ = ended => {}
            _ = ticker.tick() => registry.sweep(),
        }
    }
}

/// Returns once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// An accept error: a connection that failed before it was taken is
/// skipped; running out of file descriptors waits a moment.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused
    ) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one connection until it ends, is told to close, or the server stops.
async fn connection(
    stream: TcpStream,
    conn: Arc<Conn>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        conn: conn.clone(),
    });
    let for_requests = conn.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let in_flight = InFlight::start(&for_requests);
        let conn = for_requests.clone();
        let req = req.map(|inner| Body::new(WatchedBody { inner, conn }));
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
            Ok::<_, Infallible>(resp.map(|inner| AnswerBody {
                inner,
                _in_flight: in_flight,
            }))
        }
    });
    let served = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(served);
    tokio::select! {
        _ = served.as_mut() => return,
        _ = conn.close.notified() => return,
        _ = stopped(&mut stop) => {}
    }
    served.as_mut().graceful_shutdown();
    tokio::select! {
        _ = served.as_mut() => {}
        _ = conn.close.notified() => {}
    }
}

/// A connection's socket, telling its [`Conn`] of every byte read or written
/// and of writes the client does not take.
struct WatchedIo {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.read_some();
        }
        polled
    }
}

impl WatchedIo {
    fn note_write(&self, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Ready(Ok(n)) if *n > 0 => self.conn.wrote_some(),
            Poll::Pending => self.conn.write_blocked(),
            _ => {}
        }
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.note_write(&polled);
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.note_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A request body, telling its [`Conn`] while a handler waits for bytes.
struct WatchedBody {
    inner: Incoming,
    conn: Arc<Conn>,
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        this.conn.body_waiting(polled.is_pending());
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for WatchedBody {
    fn drop(&mut self) {
        self.conn.body_waiting(false);
    }
}

/// An answer's body, which keeps its request in flight until it is done.
struct AnswerBody {
    inner: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(in_flight: usize) -> Activity {
        Activity {
            in_flight,
            head_started: None,
            last_progress: Instant::now(),
            body_wait: None,
            write_wait: None,
        }
    }

    #[test]
    fn limits_and_who_waits() {
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(5),
            max_connections: 4,
        };
        let now = Instant::now();
        let later = |s| now + Duration::from_secs(s);
        let mut a = activity(0);
        a.last_progress = now;
        assert_eq!(a.expired(later(4), &limits), None);
        assert_eq!(a.expired(later(6), &limits), Some("it was idle"));
        a.head_started = Some(now);
        assert!(a.expired(later(3), &limits).unwrap().contains("headers"));
        assert_eq!(a.waiting_since(), Some(now));

        // vcr-local working on a request: never expired nor displaced.
        let mut busy = activity(1);
        busy.last_progress = now;
        assert_eq!(busy.expired(later(600), &limits), None);
        assert_eq!(busy.waiting_since(), None);
        // ... unless it waits on its client.
        busy.body_wait = Some(later(1));
        assert!(busy.expired(later(7), &limits).unwrap().contains("body"));
        assert_eq!(busy.waiting_since(), Some(later(1)));
        busy.body_wait = None;
        busy.write_wait = Some(later(2));
        assert!(busy.expired(later(8), &limits).unwrap().contains("reading"));
    }
}
