//! The kernel's traced set, reached through a map fd with raw bpf(2)
//! calls: the spawned command's child side runs between fork and exec,
//! where only async-signal-safe code may run (no allocation, no locks), so
//! it cannot go through libbpf.

use std::io;
use std::os::fd::RawFd;

/// bpf(2) commands (include/uapi/linux/bpf.h).
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_ANY: u64 = 0;

/// The map-element part of `union bpf_attr`: the kernel reads the fd, then
/// pointers as 64-bit numbers; the padding keeps them where its layout has
/// them (aligned to 8).
#[repr(C)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value_or_next_key: u64,
    flags: u64,
}

fn bpf(cmd: libc::c_long, attr: &mut ElemAttr) -> io::Result<()> {
    // SAFETY: attr is a valid, initialised attribute of the size passed;
    // the pointers in it point at locals of the caller that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut ElemAttr,
            size_of::<ElemAttr>() as libc::c_uint,
        )
    };
    if r < 0 {
        // from errno: no allocation, so also safe after fork
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Puts a process into the traced set. Async-signal-safe.
pub fn insert(map_fd: RawFd, tgid: u32) -> io::Result<()> {
    let value: u8 = 1;
    let mut attr = ElemAttr {
        map_fd: map_fd as u32,
        _pad: 0,
        key: &tgid as *const u32 as u64,
        value_or_next_key: &value as *const u8 as u64,
        flags: BPF_ANY,
    };
    bpf(BPF_MAP_UPDATE_ELEM, &mut attr)
}

/// Whether the traced set is empty: asking for the first key finds none.
pub fn is_empty(map_fd: RawFd) -> io::Result<bool> {
    let mut first: u32 = 0;
    let mut attr = ElemAttr {
        map_fd: map_fd as u32,
        _pad: 0,
        // no key: the first one
        key: 0,
        value_or_next_key: &mut first as *mut u32 as u64,
        flags: 0,
    };
    match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
        Ok(()) => Ok(false),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(true),
        Err(e) => Err(e),
    }
}
