//! Write errors as one line that names what was being written to
//! (`writing stdout: No space left on device`).

use std::io;

/// The error's own words, without Rust's "(os error N)" suffix.
pub fn reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

/// `writing TARGET: REASON`.
pub fn writing(target: &str, e: &io::Error) -> anyhow::Error {
    anyhow::anyhow!("writing {target}: {}", reason(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_target_in_plain_words() {
        let e = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(
            writing("stdout", &e).to_string(),
            "writing stdout: No space left on device"
        );
        let other = io::Error::other("broken (os error 5) here");
        assert_eq!(reason(&other), "broken (os error 5) here");
    }
}
