//! Facts about this host for the header: name, kernel, boot time, time zone.

use std::fs;

use crate::app::HostInfo;
use crate::clock::{self, BootClock};

fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| crate::sanitize::visible(s.trim()))
        .unwrap_or_default()
}

pub fn this_host(source: String) -> HostInfo {
    let clock = BootClock::now();
    HostInfo {
        host: read_trimmed("/proc/sys/kernel/hostname"),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        boot: Some(clock.to_wall(0)),
        source,
        utc_offset_secs: utc_offset_secs(),
    }
}

/// The local time zone's offset from UTC now.
pub fn utc_offset_secs() -> i64 {
    let now = (clock::wall_ns() / 1_000_000_000) as libc::time_t;
    // SAFETY: tm is plain data that localtime_r fills in.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}
