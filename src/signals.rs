//! Signal names, for exit statuses.

/// The conventional name of a Linux signal number (x86/arm layout).
pub fn name(signal: u32) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match signal {
        1..=31 => Some(NAMES[signal as usize]),
        _ => None,
    }
}

/// A signal's name, or `SIGRTMIN+N` / `SIG<number>` for the rest.
pub fn label(signal: u32) -> String {
    match name(signal) {
        Some(n) => n.to_string(),
        None if (34..=64).contains(&signal) => format!("SIGRTMIN+{}", signal - 34),
        None => format!("SIG{signal}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_signals() {
        assert_eq!(name(9), Some("SIGKILL"));
        assert_eq!(name(11), Some("SIGSEGV"));
        assert_eq!(name(15), Some("SIGTERM"));
        assert_eq!(name(0), None);
        assert_eq!(label(36), "SIGRTMIN+2");
        assert_eq!(label(99), "SIG99");
    }
}
