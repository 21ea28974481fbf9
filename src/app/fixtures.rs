//! Deterministic App data for unit and render tests.

use std::collections::HashMap;
use std::time::Duration;

use super::{AppConfig, HostInfo};
use crate::event::{ExitInfo, ExitStatus, Origin, ProcessInfo, WallTime};

pub const SEC: u64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z
pub const T0: u64 = 1_700_000_000 * SEC;

pub fn config() -> AppConfig {
    AppConfig {
        max_finished: 100,
        min_duration: Duration::ZERO,
        filter_in_app: false,
        users: HashMap::from([(0, "root".to_string()), (1000, "alice".to_string())]),
        host: HostInfo::default(),
    }
}

pub fn process(pid: u32, comm: &str, start_s: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid: 1,
        uid: 1000,
        comm: comm.into(),
        filename: format!("/usr/bin/{comm}"),
        argv: vec![comm.into(), format!("--arg{pid}")],
        start: WallTime(T0 + start_s * SEC),
        start_boot_ns: start_s * SEC + 1,
        exec_time: WallTime(T0 + start_s * SEC),
        origin: Origin::Exec,
        ..Default::default()
    }
}

pub fn exit(p: ProcessInfo, duration_ms: u64, status: u32) -> ExitInfo {
    let end = WallTime(p.start.0 + duration_ms * 1_000_000);
    ExitInfo {
        exit_comm: p.comm.clone(),
        process: p,
        end,
        duration_ns: duration_ms * 1_000_000,
        status: ExitStatus(status),
        usage: None,
    }
}
