//! Entry point: parse the command line, start the kernel backend, run a sink.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};

use anyhow::{Context, Result};
use clap::error::ErrorKind;
use clap::Parser;

use tracer_tui::backend::{Backend, BackendConfig, Message};
use tracer_tui::backlog::Backlog;
use tracer_tui::cli::{Cli, Mode};
use tracer_tui::metrics::Exporter;
use tracer_tui::scope::{CannotRun, Session};
use tracer_tui::{dashboard, headless, sanitize};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tracer-tui: {}", tracer_tui::cli::error_line(&e));
            return ExitCode::from(2);
        }
    };
    // `--` with nothing after it would trace the whole host: a command
    // meant to be there is missing
    if cli.command.is_empty() && std::env::args_os().skip(1).any(|a| a == "--") {
        eprintln!(
            "tracer-tui: -- needs a command after it: tracer-tui [OPTIONS] -- COMMAND [ARGS...]"
        );
        return ExitCode::from(2);
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("tracer-tui: {}", one_line(&e));
            // a command that could not be started: `time`'s 127 or 126
            match e.downcast_ref::<CannotRun>() {
                Some(c) => ExitCode::from(c.code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    sanitize::visible(&format!("{e:#}").replace('\n', " "))
}

/// Whether a signal's disposition is SIG_IGN, as nohup leaves SIGHUP.
fn ignored(signal: i32) -> bool {
    // SAFETY: a zeroed sigaction is a valid out-parameter; a null new action
    // only reads the current one.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

fn run(cli: Cli) -> Result<u8> {
    let quit = Arc::new(AtomicBool::new(false));
    // a closed terminal (SIGHUP) ends the run like SIGINT and SIGTERM: cleanly,
    // flushed; unless it was ignored on purpose (nohup)
    let mut signals = vec![signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
    if !ignored(signal_hook::consts::SIGHUP) {
        signals.push(signal_hook::consts::SIGHUP);
    }
    for signal in signals {
        signal_hook::flag::register(signal, Arc::clone(&quit))
            .context("installing signal handlers")?;
    }
    if cli.quiet && cli.metrics.is_none() && !cli.summary {
        anyhow::bail!("--quiet prints no events: use it with --metrics ADDR (or --summary)");
    }
    // the -u user and the --pid process are checked before anything starts
    let mut session = Session::prepare(&cli)?;
    // bound before tracing starts, so a port in use is an error at once
    let exporter = cli
        .metrics
        .map(|addr| Exporter::start(addr, cli.metrics_max_commands as usize))
        .transpose()?;
    let metrics = exporter.as_ref().map(Exporter::feed);
    let format = match cli.mode() {
        Mode::Dashboard => {
            let result = dashboard::run(&cli, &quit, &mut session, metrics);
            // the dashboard ends a command still running when it quits;
            // this covers a start that failed half way
            let result = result.and(session.end_command());
            // after the terminal is restored, also when the run failed
            if cli.summary {
                eprint!("{}", session.summary_text());
            }
            result?;
            return Ok(session.exit_code());
        }
        Mode::Stream => headless::Format::Stream,
        Mode::Json => headless::Format::Json,
        Mode::Quiet => headless::Format::Quiet,
    };
    let (tx, rx) = mpsc::channel::<Message>();
    let backlog = Backlog::default();
    let config = BackendConfig {
        backlog: Some(backlog.clone()),
        scope: session.backend_scope(),
        metrics,
        ..BackendConfig::new(cli.load_options(), cli.min_duration)
    };
    let backend = Backend::start(config, tx)?;
    if let Some(exporter) = &exporter {
        eprintln!(
            "tracer-tui: serving metrics at http://{}/metrics",
            exporter.addr()
        );
    }
    // output ends with the traced tree
    session.start(&backend, true)?;
    let result = headless::run(
        format,
        cli.min_duration,
        backend,
        rx,
        &backlog,
        &quit,
        &mut session,
    );
    // the command's status, as `time` waits for it (asked to stop, the
    // output has passed the stop on to a command that went on, and traced
    // its end; a failure of the output ends it here)
    let waited = if result.is_err() {
        session.end_command()
    } else {
        session.wait()
    };
    if cli.summary {
        eprint!("{}", session.summary_text());
    }
    result?;
    waited?;
    Ok(session.exit_code())
}
