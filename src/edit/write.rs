//! Atomic file replacement: a temporary file in the same directory, fsync,
//! the original permissions, then rename. A reader never sees a half-written
//! file, and a file that changed since it was read is left alone.

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
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
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
