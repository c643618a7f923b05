use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// The request body handed to the inner service by a body-signing layer: the exact bytes whose
/// signature was verified, already in memory, yielded as one data frame.
///
/// The layer holds them in one buffer (see [`Verifier`](super::Verifier) on how a body is read), so
/// an inner service that collects the body (axum's `Bytes` extractor) gets that buffer back
/// without another copy.
#[derive(Debug, Default, Clone)]
pub struct VerifiedBody {
    data: Option<Bytes>,
}

impl VerifiedBody {
    pub(crate) fn new(data: Bytes) -> Self {
        Self {
            data: (!data.is_empty()).then_some(data),
        }
    }

    /// Bytes not yet polled.
    pub fn len(&self) -> u64 {
        self.data.as_ref().map_or(0, |d| d.len() as u64)
    }

    /// Whether every byte has been polled (or there were none).
    pub fn is_empty(&self) -> bool {
        self.data.is_none()
    }
}

impl Body for VerifiedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len())
    }
}

pin_project! {
    /// A body that is either another body, passed through untouched, or one buffer sent as a
    /// single data frame. A verifying layer answers with one (the inner service's response body,
    /// or a rejection), and so does a signing layer's request (a streamed body, or the bytes it
    /// read and signed); both public types wrap this one.
    #[project = PassOrBufferProj]
    pub(crate) enum PassOrBuffer<B> {
        Pass { #[pin] body: B },
        Buffer { data: Option<Bytes> },
    }
}

impl<B> PassOrBuffer<B> {
    pub(crate) fn buffer(data: Bytes) -> Self {
        Self::Buffer {
            data: (!data.is_empty()).then_some(data),
        }
    }
}

impl<B> Body for PassOrBuffer<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            PassOrBufferProj::Pass { body } => body.poll_frame(cx),
            PassOrBufferProj::Buffer { data } => {
                Poll::Ready(data.take().map(|d| Ok(Frame::data(d))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Pass { body } => body.is_end_stream(),
            Self::Buffer { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Pass { body } => body.size_hint(),
            Self::Buffer { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

/// `Body` for a public type wrapping a [`PassOrBuffer`] in its pinned `kind` field.
macro_rules! pass_or_buffer_body {
    ($ty:ident) => {
        impl<B> http_body::Body for $ty<B>
        where
            B: http_body::Body<Data = bytes::Bytes>,
        {
            type Data = bytes::Bytes;
            type Error = B::Error;

            fn poll_frame(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, B::Error>>> {
                self.project().kind.poll_frame(cx)
            }

            fn is_end_stream(&self) -> bool {
                self.kind.is_end_stream()
            }

            fn size_hint(&self) -> http_body::SizeHint {
                self.kind.size_hint()
            }
        }
    };
}

pub(crate) use pass_or_buffer_body;

pin_project! {
    /// The response body of a verifying service: the inner service's body, or a rejection.
    pub struct ResponseBody<B> {
        #[pin]
        kind: PassOrBuffer<B>,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: PassOrBuffer::Pass { body },
        }
    }

    pub(crate) fn rejection(data: Bytes) -> Self {
        Self {
            kind: PassOrBuffer::buffer(data),
        }
    }
}

impl<B> Default for ResponseBody<B> {
    fn default() -> Self {
        Self::rejection(Bytes::new())
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            PassOrBuffer::Pass { .. } => f.write_str("ResponseBody::Inner(..)"),
            PassOrBuffer::Buffer { data } => f
                .debug_tuple("ResponseBody::Rejection")
                .field(data)
                .finish(),
        }
    }
}

pass_or_buffer_body!(ResponseBody);
