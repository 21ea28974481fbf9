//! The kernel's length limits, applied to text read from files: a record
//! made by hand can hold a 100 MB argument, which would cost memory and CPU
//! on every frame; one the kernel made never exceeds these.
//!
//! Lengths are counted as the kernel counted them, in the bytes the text
//! stood for before it was made visible: `\x1b` is one byte, U+FFFD one
//! invalid byte. So a genuine recording reads back unchanged, and a file's
//! text is at most four times the kernel's limits.

/// comm: TASK_COMM_LEN (16) with its NUL.
pub const COMM: usize = 15;
/// filename: FILENAME_MAX_LEN (256) with its NUL.
pub const FILENAME: usize = 255;
/// argv: ARGS_MAX_LEN bytes of NUL-separated arguments.
pub const ARGV: usize = 512;
/// A failed exec's argv: FAILED_ARGS_MAX arguments of FAILED_ARG_LEN with NUL.
pub const FAILED_ARGS: usize = 16;
pub const FAILED_ARG: usize = 127;

/// `text` cut to `max` bytes as the kernel counts them, and whether it was.
pub fn cut(text: &str, max: usize) -> (String, bool) {
    let mut used = 0;
    for (at, _, cost) in units(text) {
        if used + cost > max {
            return (text[..at].to_string(), true);
        }
        used += cost;
    }
    (text.to_string(), false)
}

/// The bytes `text` stood for.
pub fn raw_len(text: &str) -> usize {
    units(text).map(|(_, _, cost)| cost).sum()
}

/// argv cut to `ARGV` bytes, each argument with its NUL, as the kernel
/// keeps the start of the argument list; and whether anything was cut.
pub fn argv(args: Vec<String>) -> (Vec<String>, bool) {
    let mut left = ARGV;
    let mut kept = Vec::new();
    for arg in args {
        if left == 0 {
            return (kept, true);
        }
        let (arg, cut_short) = cut(&arg, left);
        // the NUL after it counts too
        left = left.saturating_sub(raw_len(&arg) + 1);
        kept.push(arg);
        if cut_short {
            return (kept, true);
        }
    }
    (kept, false)
}

/// A failed exec's argv: its first arguments, each cut, as the kernel keeps them.
pub fn failed_argv(args: Vec<String>) -> (Vec<String>, bool) {
    let mut truncated = args.len() > FAILED_ARGS;
    let kept = args
        .into_iter()
        .take(FAILED_ARGS)
        .map(|a| {
            let (a, cut_short) = cut(&a, FAILED_ARG);
            truncated |= cut_short;
            a
        })
        .collect();
    (kept, truncated)
}

/// (byte offset, length, bytes it stood for) of each unit of visible text:
/// an escape made by `sanitize::visible` or one character.
fn units(text: &str) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = &text[at..];
        let c = rest.chars().next()?;
        let (len, cost) = escape(rest).unwrap_or(match c {
            '\u{fffd}' => (c.len_utf8(), 1),
            _ => (c.len_utf8(), c.len_utf8()),
        });
        let unit = (at, len, cost);
        at += len;
        Some(unit)
    })
}

/// An escape at the start of `text`: `\xNN` (one byte) or `\u{NNNN}` (the
/// character's UTF-8 length).
fn escape(text: &str) -> Option<(usize, usize)> {
    let rest = text.strip_prefix('\\')?;
    if let Some(hex) = rest.strip_prefix('x') {
        let digits = hex.get(..2)?;
        return digits
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then_some((4, 1));
    }
    let body = rest.strip_prefix("u{")?;
    let end = body.find('}')?;
    let code = u32::from_str_radix(body.get(..end)?, 16).ok()?;
    let c = char::from_u32(code)?;
    (1..=6)
        .contains(&end)
        .then_some((3 + end + 1, c.len_utf8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_count_as_the_bytes_they_stood_for() {
        assert_eq!(raw_len("abc"), 3);
        assert_eq!(raw_len("\\x1b[2J"), 4);
        assert_eq!(raw_len("a\\u{202e}b"), 5);
        assert_eq!(raw_len("\u{fffd}\u{fffd}"), 2);
        assert_eq!(raw_len("日本"), 6);
        // not escapes: counted as written
        assert_eq!(raw_len("\\xZZ"), 4);
        assert_eq!(raw_len("\\u{zz}"), 6);
    }

    #[test]
    fn cuts_between_units_never_inside_one() {
        assert_eq!(cut("abcdef", 4), ("abcd".into(), true));
        assert_eq!(cut("abc", 3), ("abc".into(), false));
        assert_eq!(cut("ab\\x1bcd", 3), ("ab\\x1b".into(), true));
        assert_eq!(cut("a日", 3), ("a".into(), true));
        // a comm of 15 escaped bytes, as the kernel could send, is kept whole
        let comm = "\\x01".repeat(15);
        assert_eq!(cut(&comm, COMM), (comm.clone(), false));
    }

    #[test]
    fn argv_keeps_512_bytes_with_their_nuls() {
        let (args, cut_short) = argv(vec!["x".repeat(100); 10]);
        assert!(cut_short);
        // five of 101 bytes, then 7 of the sixth
        assert_eq!(args.len(), 6);
        assert_eq!(args[5], "x".repeat(7));
        assert_eq!(args.iter().map(|a| a.len() + 1).sum::<usize>() - 1, 512);
        let (args, cut_short) = argv(vec!["a".repeat(100_000_000)]);
        assert!(cut_short);
        assert_eq!(args, ["a".repeat(512)]);
        let whole = vec!["ls".to_string(), "-l".to_string()];
        assert_eq!(argv(whole.clone()), (whole, false));
        // every argument costs its NUL: 600 empty ones do not fit
        let (args, cut_short) = argv(vec![String::new(); 600]);
        assert!(cut_short);
        assert_eq!(args.len(), 512);
    }

    #[test]
    fn failed_argv_keeps_sixteen_arguments_of_127_bytes() {
        let (args, cut_short) = failed_argv(vec!["y".repeat(200); 20]);
        assert!(cut_short);
        assert_eq!(args.len(), 16);
        assert!(args.iter().all(|a| a.len() == 127));
        let few = vec!["sh".to_string()];
        assert_eq!(failed_argv(few.clone()), (few, false));
    }
}
