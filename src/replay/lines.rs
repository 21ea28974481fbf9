//! Lines of a replay input, read a buffer at a time so memory does not grow
//! with the file. Bytes that cannot be part of a record (anything before the
//! `{` that opens a line, a raw control byte) refuse the input at once, so
//! `/dev/zero` or a gigabyte of garbage costs one read, not the whole file.
//! Pipes, FIFOs and devices are polled, so waiting for a line never blocks
//! the thread beyond the time it asks for.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// The longest line read. tracer-tui's own longest (an exec with a full
/// history of escaped text) is under a megabyte.
pub const MAX_LINE: usize = 4 << 20;
const CHUNK: usize = 64 << 10;
const BOM: &[u8] = b"\xef\xbb\xbf";

/// What the next read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A whole line (without its newline) and its number.
    Line(String, u64),
    /// Bytes after the last newline when the input ended: a line cut short,
    /// or a last line written without its newline.
    Unterminated(String, u64),
    /// The input ended.
    End,
    /// Nothing arrived within the wait (pipes and FIFOs only).
    Idle,
}

/// Why the input is refused: its line number and the reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub u64, pub String);

pub struct LineReader {
    file: File,
    /// a pipe, FIFO or device: poll before reading
    follow: bool,
    /// regular files: read no further than this (what the check covered)
    limit: Option<u64>,
    buf: Vec<u8>,
    /// start of the current line in `buf`
    start: usize,
    /// bytes of the current line already checked
    checked: usize,
    /// the current line's `{` has been seen
    opened: bool,
    read: u64,
    /// bytes of the input taken as whole lines (the BOM included)
    consumed: u64,
    line: u64,
    at_start: bool,
    ended: bool,
    /// lines taken by `check_ready`, not yet returned
    ready: VecDeque<Next>,
}

impl LineReader {
    pub fn new(file: File, follow: bool, limit: Option<u64>) -> Self {
        Self {
            file,
            follow,
            limit,
            buf: Vec::with_capacity(CHUNK),
            start: 0,
            checked: 0,
            opened: false,
            read: 0,
            consumed: 0,
            line: 0,
            at_start: true,
            ended: false,
            ready: VecDeque::new(),
        }
    }

    /// Bytes read from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Bytes of whole lines returned so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    pub fn into_file(self) -> File {
        self.file
    }

    /// Checks what arrives within `wait` (a pipe's writer may just be
    /// starting): a stream that is not a recording is refused before the
    /// screen opens.
    pub fn check_ready(&mut self, wait: Duration) -> Result<(), Refused> {
        self.fill(wait)?;
        while let Some(next) = self.take_line()? {
            self.ready.push_back(next);
        }
        Ok(())
    }

    /// The next line; a pipe waits at most `wait` for one to arrive.
    pub fn next(&mut self, wait: Duration) -> Result<Next, Refused> {
        if let Some(next) = self.ready.pop_front() {
            return Ok(next);
        }
        loop {
            if let Some(next) = self.take_line()? {
                return Ok(next);
            }
            if self.ended {
                let rest = &self.buf[self.start..];
                self.start = self.buf.len();
                return Ok(if rest.iter().all(u8::is_ascii_whitespace) {
                    Next::End
                } else {
                    self.line += 1;
                    Next::Unterminated(String::from_utf8_lossy(rest).into_owned(), self.line)
                });
            }
            if !self.fill(wait)? {
                return Ok(Next::Idle);
            }
        }
    }

    /// A whole line from the buffer, checking bytes as they come.
    fn take_line(&mut self) -> Result<Option<Next>, Refused> {
        if self.at_start {
            let have = &self.buf[self.start..];
            if have.len() < BOM.len() && BOM.starts_with(have) && !self.ended {
                return Ok(None);
            }
            self.at_start = false;
            if have.starts_with(BOM) {
                self.start += BOM.len();
                self.consumed += BOM.len() as u64;
            }
        }
        while self.start + self.checked < self.buf.len() {
            let b = self.buf[self.start + self.checked];
            if b == b'\n' {
                let end = self.start + self.checked;
                let text = String::from_utf8_lossy(&self.buf[self.start..end]).into_owned();
                self.consumed += (end + 1 - self.start) as u64;
                self.start = end + 1;
                self.checked = 0;
                self.line += 1;
                let blank = !self.opened;
                self.opened = false;
                if blank {
                    continue;
                }
                return Ok(Some(Next::Line(text, self.line)));
            }
            let line = self.line + 1;
            // JSON has no raw control bytes: only whitespace
            if b < 0x20 && !matches!(b, b'\t' | b'\r') {
                return Err(Refused(
                    line,
                    format!("not a tracer-tui record: a control byte (0x{b:02x})"),
                ));
            }
            if !self.opened {
                match b {
                    b'{' => self.opened = true,
                    b' ' | b'\t' | b'\r' => {}
                    _ => {
                        return Err(Refused(
                            line,
                            "not a tracer-tui record: a record is a JSON object, starting with '{'"
                                .into(),
                        ))
                    }
                }
            }
            self.checked += 1;
            if self.checked > MAX_LINE {
                return Err(Refused(
                    line,
                    format!(
                        "not a tracer-tui record: longer than {} MiB",
                        MAX_LINE >> 20
                    ),
                ));
            }
        }
        Ok(None)
    }

    /// Reads more into the buffer; false when a pipe had nothing in `wait`.
    fn fill(&mut self, wait: Duration) -> Result<bool, Refused> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut want = CHUNK;
        if let Some(limit) = self.limit {
            let left = limit.saturating_sub(self.read);
            if left == 0 {
                self.ended = true;
                return Ok(true);
            }
            want = want.min(usize::try_from(left).unwrap_or(CHUNK));
        }
        if self.follow && !readable(&self.file, wait) {
            return Ok(false);
        }
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let got = loop {
            match self.file.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break usize::MAX,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(Refused(self.line + 1, format!("reading: {e}")));
                }
            }
        };
        if got == usize::MAX {
            self.buf.truncate(old);
            return Ok(false);
        }
        self.buf.truncate(old + got);
        self.read += got as u64;
        if got == 0 {
            self.ended = true;
        }
        Ok(true)
    }
}

/// Whether `file` has something to read (or has ended) within `wait`.
fn readable(file: &File, wait: Duration) -> bool {
    let mut fd = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd, for the length given; the fd stays open
    // for the call (the File is borrowed).
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    // POLLHUP: the writer went away; the read that follows returns 0
    n > 0 && fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn reader(bytes: &[u8]) -> LineReader {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        LineReader::new(f, false, None)
    }

    fn all(bytes: &[u8]) -> Result<Vec<Next>, Refused> {
        let mut r = reader(bytes);
        let mut out = Vec::new();
        loop {
            match r.next(Duration::ZERO)? {
                Next::End => return Ok(out),
                n => out.push(n),
            }
        }
    }

    #[test]
    fn lines_blank_lines_a_bom_and_an_unterminated_end() {
        assert_eq!(
            all(b"\xef\xbb\xbf{\"a\":1}\n\n  \n{}\r\n{\"cut").unwrap(),
            [
                Next::Line("{\"a\":1}".into(), 1),
                Next::Line("{}\r".into(), 4),
                Next::Unterminated("{\"cut".into(), 5),
            ]
        );
        assert_eq!(all(b"").unwrap(), []);
        assert_eq!(all(b"\xef\xbb\xbf").unwrap(), []);
    }

    #[test]
    fn garbage_is_refused_at_its_first_byte() {
        assert_eq!(
            all(b"{}\nhello").unwrap_err().0,
            2,
            "the line of the first bad byte"
        );
        assert!(all(b"\0\0\0").unwrap_err().1.contains("0x00"));
        assert!(all(b"{\"a\":\"\x1b\"}\n").unwrap_err().1.contains("0x1b"));
        // a BOM anywhere else is not whitespace
        assert!(all(b"{}\n\xef\xbb\xbf{}\n").is_err());
    }

    #[test]
    fn an_endless_line_is_refused_after_max_line_bytes() {
        let mut line = vec![b'{'];
        line.resize(MAX_LINE + 10, b' ');
        let mut r = reader(&line);
        let err = r.next(Duration::ZERO).unwrap_err();
        assert_eq!(err.0, 1);
        assert!(err.1.contains("longer than 4 MiB"), "{}", err.1);
        // the buffer grows by doubling, to twice the longest line at most
        assert!(r.buf.capacity() <= 2 * (MAX_LINE + CHUNK));
    }

    #[test]
    fn a_limit_stops_at_the_bytes_checked() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"{}\n{}\n{\"later\":1}\n").unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        let mut r = LineReader::new(f, false, Some(6));
        assert_eq!(r.next(Duration::ZERO), Ok(Next::Line("{}".into(), 1)));
        assert_eq!(r.next(Duration::ZERO), Ok(Next::Line("{}".into(), 2)));
        assert_eq!(r.next(Duration::ZERO), Ok(Next::End));
        assert_eq!(r.consumed(), 6);
    }

    #[test]
    fn a_pipe_without_data_is_idle_then_ends_when_its_writer_closes() {
        let (rx, mut tx) = std::io::pipe().unwrap();
        let mut r = LineReader::new(File::from(std::os::fd::OwnedFd::from(rx)), true, None);
        assert_eq!(r.next(Duration::from_millis(10)), Ok(Next::Idle));
        tx.write_all(b"{\"a\"").unwrap();
        assert_eq!(r.next(Duration::from_millis(10)), Ok(Next::Idle));
        tx.write_all(b":1}\n").unwrap();
        assert_eq!(
            r.next(Duration::from_millis(10)),
            Ok(Next::Line("{\"a\":1}".into(), 1))
        );
        drop(tx);
        assert_eq!(r.next(Duration::from_millis(10)), Ok(Next::End));
    }
}
