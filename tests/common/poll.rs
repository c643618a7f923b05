//! What the benches and the allocation test drive a layer with, without a server or a runtime:
//! a no-op-waker poll of a future that completes without waiting, and a request body delivered
//! in chunks as hyper's `Incoming` delivers it.
//!
//! Included by path (`#[path = ".../tests/common/poll.rs"] mod poll;`) where it is used, so
//! that each user gets the same harness.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Polls a future that completes without waiting (in-memory stores and bodies) to its end; one
/// that would wait is a bug of the caller's setup.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future waited: nothing here would wake it"),
    }
}

/// A request body delivered in the given chunks, like hyper's `Incoming`.
pub struct Chunked(VecDeque<Bytes>);

impl Chunked {
    pub fn new(chunks: &[Bytes]) -> Self {
        Self(chunks.iter().filter(|c| !c.is_empty()).cloned().collect())
    }
}

impl Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|c| c.len() as u64).sum())
    }
}

/// `body` cut into chunks of `size` bytes (none for an empty body).
pub fn chunks(body: &Bytes, size: usize) -> Vec<Bytes> {
    (0..body.len())
        .step_by(size)
        .map(|start| body.slice(start..body.len().min(start + size)))
        .collect()
}
