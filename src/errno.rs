//! Error names, for failed execs.

/// The symbolic name of a Linux errno ("ENOENT"), or "E<n>" for others.
pub fn name(errno: i32) -> String {
    let known = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ELOOP => "ELOOP",
        libc::ELIBBAD => "ELIBBAD",
        libc::ENOSYS => "ENOSYS",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ESTALE => "ESTALE",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::EUCLEAN => "EUCLEAN",
        _ => return format!("E{errno}"),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_common_exec_errors() {
        assert_eq!(super::name(2), "ENOENT");
        assert_eq!(super::name(13), "EACCES");
        assert_eq!(super::name(8), "ENOEXEC");
        assert_eq!(super::name(9999), "E9999");
    }
}
