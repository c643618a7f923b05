//! Reading a request body: the one bounded read of the crate, used by the verifying layers and by
//! the signing layer.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::Body;
use http_body_util::{LengthLimitError, Limited};

use crate::crypto::Discarded;
use crate::error::BoxError;

/// Default body limit of the body-reading layers (verifying and signing): 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The default body deadline, per started MiB of the body limit (and at least this): 5 s, so a
/// client must send at least about 1.6 Mbit/s. Set another with `body_timeout` on the layer.
pub const DEFAULT_BODY_TIMEOUT_PER_MIB: Duration = Duration::from_secs(5);

/// The default body deadline for a body limit of `limit` bytes.
pub fn default_body_timeout(limit: usize) -> Duration {
    let mibs = limit.div_ceil(1024 * 1024).max(1);
    DEFAULT_BODY_TIMEOUT_PER_MIB.saturating_mul(u32::try_from(mibs).unwrap_or(u32::MAX))
}

/// The `Content-Length` a request declares, if it declares a valid one.
pub(crate) fn declared_len(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Declared or actually longer than the limit; nothing past the limit was buffered.
    TooLarge,
    /// Not complete within the deadline.
    Timeout(Duration),
    /// The body failed (the connection broke mid-body).
    Unreadable(BoxError),
}

/// What a read gave.
pub(crate) struct Read {
    /// The body in one buffer (empty when it was discarded).
    pub(crate) bytes: Bytes,
    /// Whether the read had to wait for the client: the request is then decided again as of the
    /// end of the read.
    pub(crate) waited: bool,
}

/// Reads at most `limit` bytes of `body` (whose request declared `declared`) within `timeout`
/// (none: no deadline). With `discard`, every chunk is fed to it and dropped, and nothing is kept.
pub(crate) async fn read<B>(
    body: B,
    declared: Option<u64>,
    limit: usize,
    timeout: Option<Duration>,
    mut discard: Option<&mut Discarded>,
) -> Result<Read, ReadError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = pin!(Limited::new(body, limit));
    let mut held = Coalesced::new(declared);
    let mut deadline = timeout.map(Deadline::new);
    let mut waited = false;
    loop {
        let frame = poll_fn(|cx| match body.as_mut().poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(Ok(frame)),
            Poll::Pending => {
                waited = true;
                match &mut deadline {
                    Some(deadline) => deadline.poll_expired(cx).map(Err),
                    None => Poll::Pending,
                }
            }
        })
        .await?;
        let Some(frame) = frame else { break };
        if let Some(deadline) = &deadline
            && deadline.is_past_untimed()
        {
            return Err(deadline.error());
        }
        let frame = frame.map_err(|error| {
            if error.is::<LengthLimitError>() {
                ReadError::TooLarge
            } else {
                ReadError::Unreadable(error)
            }
        })?;
        if let Ok(mut data) = frame.into_data() {
            let chunk = data.copy_to_bytes(data.remaining());
            match discard.as_deref_mut() {
                Some(discard) => discard.update(&chunk),
                None => held.push(chunk),
            }
        }
    }
    Ok(Read {
        bytes: held.finish(),
        waited,
    })
}

/// The deadline of one body read. It starts the first time the body is not ready: until then
/// nothing was waited for, so a body already in memory costs neither a timer nor a clock read,
/// and a body a server hands on as it arrives costs one clock read (Tokio's, arming the timer)
/// where the read used to take three.
///
/// It runs on Tokio's timer when the read runs inside a Tokio runtime (every server this crate is
/// tested with): the timer is polled each time the body is not ready, so a body still trickling
/// in is refused at its first wait past the deadline. Elsewhere it is checked on the monotonic
/// clock each time a frame arrives, so a late body is refused; a body that never arrives is then
/// left to the server's own timeouts.
struct Deadline {
    timeout: Duration,
    started: Started,
}

/// When and how the deadline started.
enum Started {
    /// Not yet: the body was ready every time so far.
    No,
    /// On Tokio's timer.
    Timer(Pin<Box<tokio::time::Sleep>>),
    /// Outside Tokio: at this instant.
    At(Instant),
}

impl Deadline {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            started: Started::No,
        }
    }

    /// Past, as checked when a frame arrives: outside Tokio only (a timer is checked when the body
    /// is waited for).
    fn is_past_untimed(&self) -> bool {
        matches!(self.started, Started::At(at) if at.elapsed() > self.timeout)
    }

    fn error(&self) -> ReadError {
        ReadError::Timeout(self.timeout)
    }

    /// Ready with the error once the deadline has passed; pending (and woken then) before.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<ReadError> {
        if let Started::No = self.started {
            self.started = if tokio::runtime::Handle::try_current().is_ok() {
                Started::Timer(Box::pin(tokio::time::sleep(self.timeout)))
            } else {
                Started::At(Instant::now())
            };
        }
        let expired = match &mut self.started {
            Started::Timer(timer) => timer.as_mut().poll(cx).is_ready(),
            Started::At(_) => self.is_past_untimed(),
            Started::No => false,
        };
        if expired {
            Poll::Ready(self.error())
        } else {
            Poll::Pending
        }
    }
}

/// The bytes of a body as it is read, in one buffer whatever the framing.
///
/// Each frame a server hands on is a slice of its read buffer and keeps that whole buffer alive,
/// so a body sent as many small frames would hold many buffers if its frames were kept. A body
/// that arrives as one frame is kept as it is (one buffer, no copy); from the second frame on,
/// every byte is copied into one buffer, sized from `Content-Length` when the request declares
/// one.
struct Coalesced {
    declared: Option<u64>,
    first: Option<Bytes>,
    joined: BytesMut,
}

impl Coalesced {
    fn new(declared: Option<u64>) -> Self {
        Self {
            declared,
            first: None,
            joined: BytesMut::new(),
        }
    }

    fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(chunk);
            return;
        }
        if let Some(first) = self.first.take() {
            // The limit was checked against the declared length before the read.
            let declared = self.declared.and_then(|len| usize::try_from(len).ok());
            let wanted = first.len().saturating_add(chunk.len());
            self.joined.reserve(declared.unwrap_or(0).max(wanted));
            self.joined.extend_from_slice(&first);
        }
        self.joined.extend_from_slice(&chunk);
    }

    fn finish(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => self.joined.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body::Frame;

    use super::*;

    /// A body of ready frames, as a server hands them on.
    struct Frames(std::collections::VecDeque<Bytes>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn frames(parts: &[&'static [u8]]) -> Frames {
        Frames(parts.iter().map(|p| Bytes::from_static(p)).collect())
    }

    fn run<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
        {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("the read waited"),
        }
    }

    /// A body not ready at first, whose one frame then takes `late` to come.
    struct Late {
        late: Duration,
        polled: bool,
        sent: bool,
    }

    impl Body for Late {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            if !self.polled {
                self.polled = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if self.sent {
                return Poll::Ready(None);
            }
            self.sent = true;
            std::thread::sleep(self.late);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"late")))))
        }
    }

    /// Outside Tokio (no timer), the deadline is checked when a frame arrives, counted from the
    /// first time the body was waited for.
    #[test]
    fn outside_tokio_a_frame_past_the_deadline_is_refused() {
        let read_late = |late| {
            let body = Late {
                late,
                polled: false,
                sent: false,
            };
            let mut future = pin!(read(body, None, 100, Some(Duration::from_millis(20)), None));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            loop {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return out;
                }
            }
        };
        let late = read_late(Duration::from_millis(60));
        assert!(matches!(late, Err(ReadError::Timeout(t)) if t == Duration::from_millis(20)));
        let read = read_late(Duration::ZERO).unwrap();
        assert_eq!(read.bytes, "late");
        assert!(read.waited);
    }

    #[test]
    fn frames_are_joined_in_order_and_one_frame_is_kept_as_is() {
        let read = run(read(
            frames(&[b"ab", b"", b"c", b"def"]),
            None,
            100,
            None,
            None,
        ))
        .unwrap();
        assert_eq!(read.bytes, "abcdef");
        assert!(!read.waited);
        let one = Bytes::from_static(b"whole");
        let read = run(read_one(one.clone())).unwrap();
        // The same buffer, not a copy.
        assert_eq!(read.bytes.as_ptr(), one.as_ptr());
    }

    async fn read_one(bytes: Bytes) -> Result<Read, ReadError> {
        read(http_body_util::Full::new(bytes), None, 100, None, None).await
    }

    #[test]
    fn limits_declared_and_actual() {
        assert!(matches!(
            run(read(frames(&[b"abc"]), Some(4), 3, None, None)),
            Err(ReadError::TooLarge)
        ));
        assert!(matches!(
            run(read(frames(&[b"ab", b"cd"]), None, 3, None, None)),
            Err(ReadError::TooLarge)
        ));
        assert_eq!(
            run(read(frames(&[b"ab", b"c"]), Some(3), 3, None, None))
                .unwrap()
                .bytes,
            "abc"
        );
    }

    #[test]
    fn discarded_bodies_keep_nothing_and_feed_the_work() {
        crate::crypto::work::take();
        let mut discard = Discarded::new(
            crate::crypto::MacAlgorithm::HmacSha256,
            [&crate::Secret::new("k").unwrap()],
        );
        let read = run(read(
            frames(&[b"ab", b"cd"]),
            None,
            10,
            None,
            Some(&mut discard),
        ))
        .unwrap();
        discard.finish(|_| {});
        assert!(read.bytes.is_empty());
        let done = crate::crypto::work::take();
        assert_eq!((done.macs, done.body_bytes), (1, 4));
    }

    #[test]
    fn default_deadline_grows_with_the_limit() {
        assert_eq!(default_body_timeout(0), Duration::from_secs(5));
        assert_eq!(default_body_timeout(1024 * 1024), Duration::from_secs(5));
        assert_eq!(
            default_body_timeout(1024 * 1024 + 1),
            Duration::from_secs(10)
        );
    }
}
