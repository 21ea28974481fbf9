//! Makes untrusted bytes from the kernel (comm, filename, argv) safe to show.
//!
//! Every string a process controls passes through here once, when it is
//! decoded, so that no sink (terminal, stream lines, JSON, error messages)
//! can receive a control sequence from it.

use std::fmt::Write;

/// Decodes a NUL-terminated kernel string: cut at the first NUL, lossy UTF-8,
/// control characters made visible.
pub fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    visible(&String::from_utf8_lossy(&bytes[..end]))
}

/// Splits NUL-separated argv bytes (as in /proc/PID/cmdline) into clean strings.
pub fn argv(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|arg| visible(&String::from_utf8_lossy(arg)))
        .collect()
}

/// Replaces characters that a terminal would act on with visible escapes:
/// C0 and C1 controls and DEL as `\xNN`, and the invisible format
/// characters that reorder or hide text (bidi overrides, line separators) as `\u{NNNN}`.
pub fn visible(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_nul_and_keeps_plain_text() {
        assert_eq!(c_string(b"bash\0garbage"), "bash");
        assert_eq!(c_string(b"no-nul"), "no-nul");
        assert_eq!(c_string(b""), "");
    }

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(c_string(b"a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(
            visible("bell\x07 bs\x08 del\x7f"),
            "bell\\x07 bs\\x08 del\\x7f"
        );
        assert_eq!(visible("tab\tnl\ncr\r"), "tab\\x09nl\\x0acr\\x0d");
        // C1 CSI as a character (U+009B)
        assert_eq!(visible("x\u{9b}31m"), "x\\x9b31m");
        // OSC 52 clipboard write
        assert_eq!(visible("\x1b]52;c;aGk=\x07"), "\\x1b]52;c;aGk=\\x07");
    }

    #[test]
    fn escapes_bidi_and_separators() {
        assert_eq!(visible("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(visible("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(visible("line\u{2028}sep"), "line\\u{2028}sep");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        assert_eq!(c_string(b"ok\xff\xfe!"), "ok\u{fffd}\u{fffd}!");
        // a lone 0x9b byte is invalid UTF-8, not C1: it becomes U+FFFD
        assert_eq!(c_string(b"\x9b"), "\u{fffd}");
    }

    #[test]
    fn splits_argv() {
        assert_eq!(argv(b"/bin/echo\0a\0b c\0"), ["/bin/echo", "a", "b c"]);
        assert_eq!(argv(b"x\0\0y\0"), ["x", "", "y"]);
        assert_eq!(argv(b"partial"), ["partial"]);
        assert!(argv(b"").is_empty());
        assert!(argv(b"\0").is_empty());
        assert_eq!(argv(b"a\x1bb\0"), ["a\\x1bb"]);
    }

    #[test]
    fn unicode_text_passes() {
        assert_eq!(visible("naïve 日本語 🚀"), "naïve 日本語 🚀");
    }
}
