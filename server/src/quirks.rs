//! The deployed C++ server's transport quirks, reproduced for tests (`--cpp-quirks`,
//! `SOHBET_CPP_QUIRKS=1`; issue 16, compat-spec §2.2 d): each `recv()` of at most 4096 bytes
//! is decoded as exactly one WebSocket frame and nothing is buffered across reads, so frames
//! coalesced into one read are lost except the first, and a frame split across reads (or
//! larger than 4096 bytes) is lost whole. [`OneFramePerRead`] applies that rule to the bytes
//! a connection reads, below the WebSocket layer, once the HTTP upgrade request has passed.
//! The message-level quirks (the trailing `}` on relays, the lean voice:participants) live in
//! `voice.rs` behind `HubSettings::cpp_quirks`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// What one `recv()` of the C++ server reads at most.
pub const READ_BYTES: usize = 4096;

/// The read side of one connection under the one-frame-per-read rule.
pub struct OneFramePerRead {
    /// The upgrade request is still arriving (bytes pass unchanged); what has come so far.
    head: Option<Vec<u8>>,
    /// Bytes kept from the last read (one whole frame), and how many were handed out.
    kept: Vec<u8>,
    given: usize,
    /// Bytes thrown away so far (coalesced or split frames), for the log.
    dropped_bytes: u64,
}

/// Length of the client frame at the start of `b` (header, mask and payload), if `b` starts
/// with a complete header that can begin a client frame (no reserved bits, a known opcode,
/// masked). The tail of a frame lost earlier does not qualify and is dropped too.
pub fn frame_len(b: &[u8]) -> Option<usize> {
    let (&b0, &b1, rest) = (b.first()?, b.get(1)?, b.get(2..)?);
    let known_opcode = matches!(b0 & 0x0f, 0x0..=0x2 | 0x8..=0xa);
    if b0 & 0x70 != 0 || !known_opcode || b1 & 0x80 == 0 {
        return None;
    }
    let (ext, payload) = match b1 & 0x7f {
        126 => (
            2,
            u16::from_be_bytes(rest.get(..2)?.try_into().ok()?) as usize,
        ),
        127 => (
            8,
            usize::try_from(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)).ok()?,
        ),
        n => (0, n as usize),
    };
    Some(2 + ext + 4 + payload) // header, extended length, mask, payload
}

impl Default for OneFramePerRead {
    fn default() -> Self {
        Self::new()
    }
}

impl OneFramePerRead {
    /// A connection whose upgrade request has not arrived yet.
    pub fn new() -> Self {
        OneFramePerRead {
            head: Some(Vec::new()),
            kept: Vec::new(),
            given: 0,
            dropped_bytes: 0,
        }
    }

    /// Reads from `inner` into `buf` under the rule.
    pub fn poll_read<R: AsyncRead + Unpin>(
        &mut self,
        mut inner: Pin<&mut R>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if self.given < self.kept.len() {
                let n = (self.kept.len() - self.given).min(buf.remaining());
                buf.put_slice(&self.kept[self.given..self.given + n]);
                self.given += n;
                return Poll::Ready(Ok(()));
            }
            let mut scratch = [0u8; READ_BYTES];
            let mut read = ReadBuf::new(&mut scratch);
            ready!(inner.as_mut().poll_read(cx, &mut read))?;
            let got = read.filled();
            if got.is_empty() {
                return Poll::Ready(Ok(()));
            }
            self.given = 0;
            self.kept.clear();
            if let Some(head) = self.head.as_mut() {
                head.extend_from_slice(got);
                if head.windows(4).any(|w| w == b"\r\n\r\n") {
                    self.head = None;
                }
                self.kept.extend_from_slice(got);
                continue;
            }
            match frame_len(got) {
                Some(n) if n <= got.len() => {
                    self.kept.extend_from_slice(&got[..n]);
                    self.drop_bytes(got.len() - n);
                }
                _ => self.drop_bytes(got.len()),
            }
        }
    }

    fn drop_bytes(&mut self, n: usize) {
        if n > 0 {
            self.dropped_bytes += n as u64;
            tracing::debug!(
                bytes = n,
                total = self.dropped_bytes,
                "cpp-quirks: bytes after the first frame of a read dropped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    struct Reads(Vec<Vec<u8>>);

    impl AsyncRead for Reads {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if !self.0.is_empty() {
                let chunk = self.0.remove(0);
                buf.put_slice(&chunk);
            }
            Poll::Ready(Ok(()))
        }
    }

    struct Quirky(Reads, OneFramePerRead);

    impl AsyncRead for Quirky {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = &mut *self;
            this.1.poll_read(Pin::new(&mut this.0), cx, buf)
        }
    }

    /// A masked text frame with `len` payload bytes.
    fn frame(len: usize, fill: u8) -> Vec<u8> {
        let mut f = vec![0x81];
        match len {
            0..=125 => f.push(0x80 | len as u8),
            _ => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend(std::iter::repeat_n(fill, len));
        f
    }

    async fn read_all(reads: Vec<Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut q = Quirky(Reads(reads), OneFramePerRead::new());
        q.read_to_end(&mut out).await.unwrap();
        out
    }

    #[test]
    fn frame_lengths_follow_the_header() {
        assert_eq!(frame_len(&frame(5, 0)), Some(11));
        assert_eq!(frame_len(&frame(300, 0)), Some(308));
        assert_eq!(frame_len(&[0x81]), None);
        assert_eq!(frame_len(&[0x81, 0xfe, 1]), None);
        assert_eq!(frame_len(&[0x81, 0x05, 1, 2, 3, 4, 5]), None, "unmasked");
        assert_eq!(frame_len(b"ssssssss"), None, "the middle of a payload");
    }

    #[tokio::test]
    async fn the_upgrade_request_passes_and_only_the_first_coalesced_frame_survives() {
        let head = b"GET /?token=t HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        let (a, b, c) = (frame(10, b'a'), frame(20, b'b'), frame(30, b'c'));
        let coalesced = [a.clone(), b.clone()].concat();
        let out = read_all(vec![head.clone(), coalesced, c.clone()]).await;
        assert_eq!(out, [head, a, c].concat());
    }

    #[tokio::test]
    async fn a_frame_split_across_reads_or_over_4096_bytes_is_lost_whole() {
        let head = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        let split = frame(100, b's');
        let big = frame(5000, b'x');
        let ok = frame(3, b'k');
        let out = read_all(vec![
            head.clone(),
            split[..50].to_vec(),
            split[50..].to_vec(),
            big[..READ_BYTES].to_vec(),
            ok.clone(),
        ])
        .await;
        assert_eq!(out, [head, ok].concat());
    }
}
