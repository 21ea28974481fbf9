//! The user a command runs as (-u): looked up before the fork, so the
//! child only makes system calls with what is prepared here.

use std::ffi::{CStr, CString};

use anyhow::{anyhow, bail, Result};

/// Who to become: the ids and the supplementary groups, as login would set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

/// Looks a user up by name in the password database (NSS), with its groups.
pub fn lookup(name: &str) -> Result<User> {
    let shown = crate::sanitize::visible(name);
    let cname = CString::new(name).map_err(|_| anyhow!("-u {shown}: no such user"))?;
    // SAFETY: passwd is plain data for getpwnam_r to fill; buf outlives the
    // use of the strings it points into (only pw_name, copied below).
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all pointers are valid for the call; buf's length is passed.
    let r = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if r != 0 {
        bail!(
            "-u {shown}: looking up the user: {}",
            std::io::Error::from_raw_os_error(r)
        );
    }
    if found.is_null() {
        bail!("-u {shown}: no such user");
    }
    // SAFETY: pw_name points into buf, NUL-terminated, while buf lives.
    let pw_name = unsafe { CStr::from_ptr(pw.pw_name) }.to_owned();
    let groups = group_list(&pw_name, pw.pw_gid);
    Ok(User {
        name: name.to_string(),
        uid: pw.pw_uid,
        gid: pw.pw_gid,
        groups,
    })
}

/// The user's groups (its primary group included), growing the list until
/// getgrouplist has room for them all.
fn group_list(name: &CStr, gid: libc::gid_t) -> Vec<libc::gid_t> {
    let mut n: libc::c_int = 32;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let mut count = n;
        // SAFETY: groups holds `count` entries; getgrouplist writes at most
        // that many and sets count to the number it has.
        let r = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if r >= 0 {
            groups.truncate(count.max(0) as usize);
            return groups;
        }
        // too small: count holds the size needed (glibc), or double it
        n = count.max(n.saturating_mul(2)).min(65_536);
        if groups.len() >= 65_536 {
            return vec![gid];
        }
    }
}

/// Fails with one line unless this process may change its user.
pub fn check_privilege(user: &User) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "-u {} needs root (try: sudo tracer-tui -u ...)",
            crate::sanitize::visible(&user.name)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_and_strangers_are_not() {
        let root = lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        let e = lookup("no-such-user-tracer-tui").unwrap_err().to_string();
        assert_eq!(e, "-u no-such-user-tracer-tui: no such user");
        assert!(lookup("a\0b").is_err());
    }
}
