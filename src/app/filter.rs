//! The search filter: terms as in htop's filter and more, parsed once when
//! typed, then tested against each row without allocating (the finished
//! list can hold 100k rows, and every keystroke refilters it).
//!
//! Terms are separated by spaces and must all match:
//! - `word`: case-insensitive substring of the whole command line (so
//!   `sleep 3601` matches argv ["sleep", "3601"]), comm, filename, user, the
//!   exiting thread's name, or any earlier command line of the process;
//!   a bare number also matches the PID and PPID;
//! - `"two words"`: a phrase, or a word that starts with `-`;
//! - `pid:N`, `ppid:N`, `user:NAME` (or a uid);
//! - `exit:N` exact code, `exit:!N` anything else (`exit:!0`: failed, by a
//!   non-zero code or a signal), `exit:SIGKILL`, `exit:sig` any signal;
//!   live processes have not exited and match no `exit:` term;
//! - `-term` excludes what `term` matches. `--flag` stays a word: option
//!   names are searched for far more often than excluded.

use crate::event::{ExitInfo, ExitStatus, ProcessInfo};

use super::commands::CommandRow;
use super::rows::{contains_folded, FinishedRow, LiveRow};
use crate::event::{outcome_slot, CommandTotals, OUTCOME_SLOTS};

/// A parsed search; the default matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    exclude: bool,
    test: Test,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    /// lower case; `number` when the word is all digits
    Text {
        lower: String,
        number: Option<u32>,
    },
    Pid(u32),
    Ppid(u32),
    User {
        lower: String,
        uid: Option<u32>,
    },
    Exit(ExitTest),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExitTest {
    Code(i32),
    NotCode(i32),
    Signal(u32),
    AnySignal,
}

/// What a row offers to the filter.
pub struct Subject<'a> {
    pub process: &'a ProcessInfo,
    /// the row's command line, made once per row
    pub command: &'a str,
    pub user: &'a str,
    pub exit: Option<&'a ExitInfo>,
}

impl<'a> Subject<'a> {
    pub fn live(row: &'a LiveRow) -> Self {
        Subject {
            process: &row.info,
            command: &row.command,
            user: &row.user,
            exit: None,
        }
    }

    pub fn finished(row: &'a FinishedRow) -> Self {
        Subject {
            process: &row.exit.process,
            command: &row.command,
            user: &row.user,
            exit: Some(&row.exit),
        }
    }
}

impl Filter {
    /// Parses a search as typed; an error names the term that is wrong.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for word in split(text) {
            if let Some(term) = Term::parse(&word)? {
                terms.push(term);
            }
        }
        Ok(Filter { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, s: &Subject) -> bool {
        self.terms.iter().all(|t| t.test.matches(s) != t.exclude)
    }

    pub fn live(&self, row: &LiveRow) -> bool {
        self.is_empty() || self.matches(&Subject::live(row))
    }

    pub fn finished(&self, row: &FinishedRow) -> bool {
        self.is_empty() || self.matches(&Subject::finished(row))
    }

    /// A Commands row: words match its name, its last command lines and
    /// its parents' names; `exit:` terms match when any run ended so;
    /// process terms (`pid:`, `user:`) match no command.
    pub fn command(&self, row: &CommandRow) -> bool {
        self.is_empty()
            || self
                .terms
                .iter()
                .all(|t| t.test.matches_command(row) != t.exclude)
    }
}

/// A word of the search, as typed: `quoted_start` when it began with a
/// quote (after any `-`), which makes it plain text.
struct Word {
    exclude: bool,
    quoted_start: bool,
    text: String,
}

/// Splits at spaces outside double quotes, dropping the quotes. An
/// unclosed quote runs to the end: while a phrase is being typed, it is
/// searched for as far as it goes.
fn split(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return words;
        };
        let mut word = Word {
            exclude: false,
            quoted_start: false,
            text: String::new(),
        };
        if first == '-' {
            chars.next();
            match chars.peek() {
                // "-" alone, or "--flag": text
                None | Some('-') => word.text.push('-'),
                Some(c) if c.is_whitespace() => word.text.push('-'),
                Some(_) => word.exclude = true,
            }
        }
        word.quoted_start = word.text.is_empty() && chars.peek() == Some(&'"');
        let mut quoted = false;
        while let Some(c) = chars.next_if(|&c| quoted || !c.is_whitespace()) {
            if c == '"' {
                quoted = !quoted;
            } else {
                word.text.push(c);
            }
        }
        words.push(word);
    }
}

impl Term {
    fn parse(word: &Word) -> Result<Option<Term>, String> {
        let test = match word.text.split_once(':') {
            Some((key, value)) if !word.quoted_start => match key.to_lowercase().as_str() {
                "pid" => Test::Pid(number(key, value)?),
                "ppid" => Test::Ppid(number(key, value)?),
                "user" => {
                    if value.is_empty() {
                        return Err("user: needs a name, as user:root".into());
                    }
                    Test::User {
                        lower: value.to_lowercase(),
                        uid: value.parse().ok(),
                    }
                }
                "exit" => Test::Exit(exit_test(value)?),
                _ => Test::text(&word.text),
            },
            _ if word.text.is_empty() => return Ok(None),
            _ => Test::text(&word.text),
        };
        Ok(Some(Term {
            exclude: word.exclude,
            test,
        }))
    }
}

fn number(key: &str, value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("{key}: needs a number, as {key}:1234"))
}

fn exit_test(value: &str) -> Result<ExitTest, String> {
    let lower = value.to_ascii_lowercase();
    if let Some(code) = lower.strip_prefix('!') {
        if let Ok(code) = code.parse() {
            return Ok(ExitTest::NotCode(code));
        }
    } else if let Ok(code) = lower.parse() {
        return Ok(ExitTest::Code(code));
    } else if lower == "sig" || lower == "signal" {
        return Ok(ExitTest::AnySignal);
    } else if let Some(sig) = (1..=64).find(|&s| {
        let name = crate::signals::label(s).to_ascii_lowercase();
        name == lower || name.strip_prefix("sig") == Some(&lower)
    }) {
        return Ok(ExitTest::Signal(sig));
    }
    Err("exit: takes a code or signal, as exit:1, exit:!0 (failed), exit:SIGKILL".into())
}

impl Test {
    fn text(text: &str) -> Test {
        Test::Text {
            lower: text.to_lowercase(),
            number: text
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse().ok())
                .flatten(),
        }
    }

    fn matches(&self, s: &Subject) -> bool {
        let p = s.process;
        match self {
            Test::Text { lower, number } => {
                number.is_some_and(|n| p.pid == n || p.ppid == n) || text_matches(s, lower)
            }
            Test::Pid(n) => p.pid == *n,
            Test::Ppid(n) => p.ppid == *n,
            Test::User { lower, uid } => {
                uid.is_some_and(|u| p.uid == u)
                    || s.user.eq_ignore_ascii_case(lower)
                    || (!s.user.is_ascii() && s.user.to_lowercase() == *lower)
            }
            Test::Exit(t) => s.exit.is_some_and(|e| t.matches(e.status)),
        }
    }
}

impl Test {
    fn matches_command(&self, row: &CommandRow) -> bool {
        match self {
            Test::Text { lower, .. } => {
                contains_folded(&row.totals.comm, lower)
                    || row.lines.iter().any(|l| contains_folded(l, lower))
                    || row.parents.iter().any(|(p, _)| contains_folded(p, lower))
            }
            Test::Pid(_) | Test::Ppid(_) | Test::User { .. } => false,
            Test::Exit(t) => t.matches_outcomes(&row.totals),
        }
    }
}

impl ExitTest {
    /// Whether any run ended so, by the outcome slots (codes without a
    /// slot of their own share one: `exit:3` matches any of them).
    fn matches_outcomes(self, t: &CommandTotals) -> bool {
        let slot = |status: u32| t.outcomes[outcome_slot(ExitStatus(status))];
        let signals: u64 = t.outcomes[6..OUTCOME_SLOTS - 1].iter().sum();
        match self {
            ExitTest::Code(c) => slot((c as u32 & 0xff) << 8) > 0,
            ExitTest::NotCode(0) => t.failed > 0,
            ExitTest::NotCode(c) => t.runs > slot((c as u32 & 0xff) << 8),
            ExitTest::Signal(sig) => slot(sig & 0x7f) > 0,
            ExitTest::AnySignal => signals > 0,
        }
    }

    fn matches(self, status: ExitStatus) -> bool {
        match self {
            ExitTest::Code(c) => status.code() == Some(c),
            ExitTest::NotCode(c) => status.code() != Some(c),
            ExitTest::Signal(sig) => status.signal() == Some(sig),
            ExitTest::AnySignal => status.signal().is_some(),
        }
    }
}

/// `needle` is lower case. The current command line, names and user are
/// tested in place; earlier command lines are made only for the few
/// processes that exec'd more than once or failed to.
fn text_matches(s: &Subject, needle: &str) -> bool {
    let p = s.process;
    contains_folded(s.command, needle)
        || contains_folded(&p.comm, needle)
        || contains_folded(&p.filename, needle)
        || contains_folded(s.user, needle)
        || s.exit
            .is_some_and(|e| contains_folded(&e.exit_comm, needle))
        || (!p.history.is_empty()
            && p.command_lines()
                .skip(1)
                .any(|line| contains_folded(&line, needle)))
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
