//! tracer-tui: every process exec and exit on a Linux host, traced with eBPF.

pub mod app;
pub mod backend;
pub mod backlog;
pub mod bpf;
pub mod cli;
pub mod clock;
pub mod dashboard;
pub mod errno;
pub mod event;
pub mod headless;
pub mod host;
pub mod intake;
pub mod job_control;
pub mod join;
pub mod output;
pub mod procfs;
pub mod record;
pub mod recorder;
pub mod replay;
pub mod sanitize;
pub mod signals;
pub mod source;
pub mod terminal;
pub mod ui;
pub mod users;
