//! Atomic file replacement: a temporary file in the same directory, fsync,
//! the original permissions, then rename. A reader never sees a half-written
//! file, and a file that changed since it was read is left alone.
//!
//! Symbolic links are never replaced by regular files. A path reached
//! through a link (the file itself, or a directory on the way) is written at
//! the link's target, in place, when that target lies inside the current
//! directory; otherwise it is not written and the error says where the link
//! points. The same rule holds for linked files and linked directories.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file on disk no longer holds the bytes that were planned against.
    #[error("{}: file changed on disk since it was read; not written", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// The path goes through a symbolic link whose target is outside the
    /// current directory.
    #[error("{}: is reached through a symbolic link to {}, outside the current directory; not written (run imgpin where the target lives, or name the target)", path.display(), target.display())]
    OutsideTree {
        /// The path as named.
        path: PathBuf,
        /// Where it really is.
        target: PathBuf,
    },
    /// An I/O step failed; the original file is untouched.
    #[error("{}: cannot write: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Replace `path`'s content with `new`, provided it still holds `expected`.
///
/// Writes to a temporary file in the same directory, fsyncs it, copies the
/// original permissions, and renames it over the original.
pub fn write_atomic(path: &Path, expected: &[u8], new: &[u8]) -> Result<(), WriteError> {
    let tree = std::env::current_dir().and_then(fs::canonicalize).ok();
    write_atomic_within(path, expected, new, tree.as_deref())
}

/// [`write_atomic`], with links followed only to targets inside `tree`
/// (canonical; `None`: nowhere).
fn write_atomic_within(
    path: &Path,
    expected: &[u8],
    new: &[u8],
    tree: Option<&Path>,
) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let target = write_target(path).map_err(io)?;
    if target != path {
        let inside = tree.is_some_and(|tree| target.starts_with(tree));
        if !inside {
            return Err(WriteError::OutsideTree {
                path: path.to_path_buf(),
                target,
            });
        }
    }
    let path = target.as_path();
    let current = fs::read(path).map_err(io)?;
    if current != expected {
        return Err(WriteError::Changed {
            path: path.to_path_buf(),
        });
    }
    let permissions = fs::metadata(path).map_err(io)?.permissions();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".imgpin-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(new).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    fs::set_permissions(tmp.path(), permissions).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// `path` itself when no symbolic link is on its way, else the file it
/// really names (canonical).
fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let linked = absolute
        .ancestors()
        .any(|p| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()));
    if linked {
        fs::canonicalize(path)
    } else {
        Ok(path.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs::write(&path, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        write_atomic(&path, b"old", b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_at_its_target_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir(dir.join("real")).unwrap();
        fs::write(dir.join("real/a.yaml"), b"old").unwrap();
        std::os::unix::fs::symlink("real/a.yaml", dir.join("link.yaml")).unwrap();
        std::os::unix::fs::symlink("real", dir.join("linkdir")).unwrap();
        // Inside the tree: written in place, links kept.
        let tree = Some(dir.as_path());
        write_atomic_within(&dir.join("link.yaml"), b"old", b"new", tree).unwrap();
        assert_eq!(fs::read(dir.join("real/a.yaml")).unwrap(), b"new");
        let link = fs::symlink_metadata(dir.join("link.yaml")).unwrap();
        assert!(link.file_type().is_symlink());
        write_atomic_within(&dir.join("linkdir/a.yaml"), b"new", b"newer", tree).unwrap();
        assert_eq!(fs::read(dir.join("real/a.yaml")).unwrap(), b"newer");
        assert!(fs::symlink_metadata(dir.join("linkdir"))
            .unwrap()
            .file_type()
            .is_symlink());
        // A tree that does not hold the target: refused, untouched.
        let elsewhere = dir.join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink("../real/a.yaml", elsewhere.join("l.yaml")).unwrap();
        let err = write_atomic_within(&elsewhere.join("l.yaml"), b"newer", b"x", Some(&elsewhere))
            .unwrap_err();
        assert!(matches!(err, WriteError::OutsideTree { .. }), "{err}");
        assert!(
            err.to_string().contains("outside the current directory"),
            "{err}"
        );
        assert_eq!(fs::read(dir.join("real/a.yaml")).unwrap(), b"newer");
    }

    #[test]
    fn refuses_when_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        fs::write(&path, b"changed").unwrap();
        let err = write_atomic(&path, b"old", b"new").unwrap_err();
        assert!(matches!(err, WriteError::Changed { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"changed");
    }
}
