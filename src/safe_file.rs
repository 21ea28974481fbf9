//! Creating an output file where other users may have left traps: no
//! symlink followed in any component of the path, a new file made with
//! O_EXCL, and an existing one replaced only when asked and only when it is
//! a plain file of the user the output belongs to.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// The user and group an output file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    /// Under sudo, the user who ran sudo (SUDO_UID, SUDO_GID), so they can
    /// read their own recording; otherwise whoever this process runs as.
    /// `sudo` is the two variables' values.
    pub fn resolve(sudo: (Option<String>, Option<String>)) -> Result<Owner> {
        // SAFETY: geteuid and getegid have no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        // only root can give a file away, and only sudo makes root with these set
        let (Some(uid), Some(gid)) = sudo else {
            return Ok(Owner {
                uid: euid,
                gid: egid,
            });
        };
        if euid != 0 {
            return Ok(Owner {
                uid: euid,
                gid: egid,
            });
        }
        let id = |name: &str, text: &str| {
            text.parse::<u32>()
                .map_err(|_| anyhow!("{name} {text:?} is not a numeric id"))
        };
        Ok(Owner {
            uid: id("SUDO_UID", &uid)?,
            gid: id("SUDO_GID", &gid)?,
        })
    }

    pub fn from_env() -> Result<Owner> {
        let var = |name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        Owner::resolve((var("SUDO_UID"), var("SUDO_GID")))
    }
}

/// An output file opened for writing, mode 0600, belonging to its owner.
pub struct OutputFile {
    pub file: File,
    /// true when this call created it; false when --force reuses one, whose
    /// old content is still there until `File::set_len(0)`
    pub created: bool,
    /// the directory it was created in, opened without following links, so
    /// removing it removes this file and nothing else
    dir: OwnedFd,
    name: CString,
}

/// Creates `path` new (or, with `force`, reuses a regular file of `owner`'s
/// with a single link, leaving its content for the caller to truncate when
/// it is ready). Anything else is refused with one line naming the path.
pub fn create(path: &Path, force: bool, owner: Owner) -> Result<OutputFile> {
    let shown = path.display();
    let refuse = |why: String| anyhow!("refusing to write {shown}: {why}");
    let name = path
        .file_name()
        .ok_or_else(|| refuse("it does not end in a file name".into()))?;
    let name =
        CString::new(name.as_bytes()).map_err(|_| refuse("it contains a NUL byte".into()))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent_c = CString::new(parent.as_os_str().as_bytes())
        .map_err(|_| refuse("it contains a NUL byte".into()))?;
    let dir = openat2(
        libc::AT_FDCWD,
        &parent_c,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| refuse(resolve_error(&e, "its directory")))?;

    // O_NONBLOCK and O_NOCTTY: nothing in its place may block the open or
    // become our terminal
    let flags = libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY;
    match openat2(
        dir.as_raw_fd(),
        &name,
        flags | libc::O_CREAT | libc::O_EXCL | libc::O_NONBLOCK,
        0o600,
    ) {
        Ok(fd) => {
            let out = OutputFile {
                file: File::from(fd),
                created: true,
                dir,
                name,
            };
            // a failure to give the file away leaves no file behind
            give(&out.file, owner).map_err(|e| {
                out.remove();
                e.context(format!("setting the owner of {shown}"))
            })?;
            return Ok(out);
        }
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => return Err(refuse(resolve_error(&e, "it"))),
    }

    // something is there: look at it without opening it for writing
    let existing = openat2(
        dir.as_raw_fd(),
        &name,
        libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| refuse(resolve_error(&e, "it")))?;
    let meta = File::from(existing)
        .metadata()
        .with_context(|| format!("checking {shown}"))?;
    if !meta.file_type().is_file() {
        return Err(refuse(format!("it is {}, not a regular file", kind(&meta))));
    }
    if !force {
        bail!("{shown} exists: refusing to replace it (--force replaces a file of your own)");
    }
    if meta.uid() != owner.uid {
        return Err(refuse(format!(
            "it belongs to uid {}, not to uid {} that tracer-tui writes as",
            meta.uid(),
            owner.uid
        )));
    }
    if meta.nlink() != 1 {
        return Err(refuse(format!(
            "it has {} hard links, so it may be another file too",
            meta.nlink()
        )));
    }
    let fd = openat2(dir.as_raw_fd(), &name, flags | libc::O_NONBLOCK, 0)
        .map_err(|e| refuse(resolve_error(&e, "it")))?;
    let file = File::from(fd);
    let now = file
        .metadata()
        .with_context(|| format!("checking {shown}"))?;
    // replaced between the look and the open
    if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
        return Err(refuse("it changed while it was being opened".into()));
    }
    give(&file, owner).with_context(|| format!("setting the owner of {shown}"))?;
    Ok(OutputFile {
        file,
        created: false,
        dir,
        name,
    })
}

impl OutputFile {
    /// Removes the file this call created (a run that never started leaves
    /// nothing behind), if that name is still this file.
    pub fn remove(&self) {
        if !self.created {
            return;
        }
        let Ok(ours) = self.file.metadata() else {
            return;
        };
        // SAFETY: a zeroed stat is a valid out-parameter; dir and name are
        // valid for the call, and the name is not followed.
        let same = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            libc::fstatat(
                self.dir.as_raw_fd(),
                self.name.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            ) == 0
                && (st.st_dev, st.st_ino) == (ours.dev(), ours.ino())
        };
        if same {
            // SAFETY: as above; unlinkat removes only the name in that directory.
            unsafe { libc::unlinkat(self.dir.as_raw_fd(), self.name.as_ptr(), 0) };
        }
    }
}

/// The owner and mode 0600, set on the open file, so no other file can be
/// changed in its place.
fn give(file: &File, owner: Owner) -> Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fd is open for the duration of the calls.
    if unsafe { libc::fchown(fd, owner.uid, owner.gid) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: as above; chown may clear bits, so the mode comes after it.
    if unsafe { libc::fchmod(fd, 0o600) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    Ok(())
}

/// What a file that is not regular is, for the refusal.
pub fn kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

fn resolve_error(e: &io::Error, what: &str) -> String {
    match e.raw_os_error() {
        // RESOLVE_NO_SYMLINKS and O_NOFOLLOW both say ELOOP
        Some(libc::ELOOP) => "a symbolic link in the path would be followed".into(),
        Some(libc::ENOSYS) => "the kernel lacks openat2 (Linux 5.6)".into(),
        _ => format!("opening {what}: {}", crate::write_error::reason(e)),
    }
}

/// openat2 with RESOLVE_NO_SYMLINKS: no component of `path`, the last
/// included, may be a symbolic link.
fn openat2(dir: RawFd, path: &CString, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: open_how is plain data; zero is the default for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.mode = u64::from(mode);
    how.resolve = libc::RESOLVE_NO_SYMLINKS;
    loop {
        // SAFETY: path is NUL-terminated and `how` outlives the call, whose
        // size argument is the struct's own.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir,
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel returned a new descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        let e = io::Error::last_os_error();
        // EAGAIN: a rename raced the lookup; the kernel asks to try again
        if !matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN)) {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn me() -> Owner {
        Owner::resolve((None, None)).unwrap()
    }

    #[test]
    fn creates_new_files_only_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let out = create(&path, false, me()).unwrap();
        assert!(out.created);
        assert_eq!(out.file.metadata().unwrap().mode() & 0o7777, 0o600);
        let err = create(&path, false, me()).err().unwrap().to_string();
        assert!(err.contains("exists") && err.contains("--force"), "{err}");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let again = create(&path, true, me()).unwrap();
        assert!(!again.created);
        assert_eq!(std::fs::read(&path).unwrap(), b"old", "truncated too early");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn symlinks_anywhere_in_the_path_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("important"), "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("logs")).unwrap();
        std::os::unix::fs::symlink(victim.join("important"), dir.path().join("last")).unwrap();
        for path in [
            dir.path().join("logs/important"),
            dir.path().join("logs/new"),
        ] {
            let err = create(&path, true, me()).err().unwrap().to_string();
            assert!(err.contains("symbolic link"), "{err}");
        }
        let err = create(&dir.path().join("last"), true, me())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(victim.join("important")).unwrap(), b"keep");
        assert!(!victim.join("new").exists());
    }

    #[test]
    fn hard_links_and_non_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, "keep").unwrap();
        std::fs::hard_link(&a, dir.path().join("b")).unwrap();
        let err = create(&a, true, me()).err().unwrap().to_string();
        assert!(err.contains("hard links"), "{err}");
        let err = create(dir.path(), true, me()).err().unwrap().to_string();
        assert!(err.contains("refusing"), "{err}");
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let err = create(&dir.path().join("d"), true, me())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("a directory"), "{err}");
        assert_eq!(std::fs::read(&a).unwrap(), b"keep");
    }

    #[test]
    fn remove_takes_only_a_file_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        create(&path, false, me()).unwrap().remove();
        assert!(!path.exists());
        std::fs::write(&path, "keep").unwrap();
        create(&path, true, me()).unwrap().remove();
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
    }

    #[test]
    fn sudo_variables_name_the_owner_only_for_root() {
        let sudo = |u: &str, g: &str| Owner::resolve((Some(u.into()), Some(g.into())));
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(
                sudo("1000", "1001").unwrap(),
                Owner {
                    uid: 1000,
                    gid: 1001
                }
            );
            assert!(sudo("me", "1")
                .unwrap_err()
                .to_string()
                .contains("SUDO_UID"));
        } else {
            assert_eq!(sudo("1000", "1001").unwrap(), me());
        }
        assert_eq!(Owner::resolve((Some("5".into()), None)).unwrap(), me());
    }
}
