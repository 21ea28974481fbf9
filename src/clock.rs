//! Converts the kernel's CLOCK_BOOTTIME stamps to wall-clock time, once.

use crate::event::WallTime;

fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec; the clock ids used are always supported.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds of CLOCK_BOOTTIME now: the kernel program's time base.
pub fn boot_ns() -> u64 {
    read(libc::CLOCK_BOOTTIME)
}

/// Nanoseconds since the Unix epoch now.
pub fn wall_ns() -> u64 {
    read(libc::CLOCK_REALTIME)
}

/// The offset between boot time and wall time, taken once at start so that
/// every event is converted the same way.
#[derive(Clone, Copy, Debug)]
pub struct BootClock {
    wall_minus_boot: i128,
}

impl BootClock {
    pub fn now() -> Self {
        // bracket the wall read with two boot reads and take their middle
        let b1 = boot_ns();
        let wall = read(libc::CLOCK_REALTIME);
        let b2 = boot_ns();
        let boot = b1 + (b2 - b1) / 2;
        Self {
            wall_minus_boot: wall as i128 - boot as i128,
        }
    }

    #[cfg(test)]
    pub fn with_offset(wall_minus_boot: i128) -> Self {
        Self { wall_minus_boot }
    }

    pub fn to_wall(&self, boot_ns: u64) -> WallTime {
        WallTime((boot_ns as i128 + self.wall_minus_boot).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn converts_now_to_now() {
        let clock = BootClock::now();
        let wall = clock.to_wall(boot_ns());
        let sys = WallTime::from_system_time(SystemTime::now());
        assert!(sys.0.abs_diff(wall.0) < 50_000_000, "{wall:?} vs {sys:?}");
    }
}
