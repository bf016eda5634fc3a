//! The state lock: an OS file lock on `<state>.lock` (released by the kernel if the process
//! dies, so it never goes stale) holding who took it and when, to name the holder when a
//! second apply is refused.

use super::StateError;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub who: String,
    pub pid: u32,
    pub since: String,
}

impl LockInfo {
    /// A fresh lock for `operation` by this process, now.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.into(),
            who: whoami(),
            pid: std::process::id(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }
}

/// Held for the duration of an apply or destroy; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
    pub info: LockInfo,
}

impl StateLock {
    /// Takes the lock of the state at `state_path`, or fails at once naming the holder.
    pub fn acquire(state_path: &Path, operation: &str) -> Result<StateLock, StateError> {
        let path = lock_path(state_path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StateError::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                StateError::Io(format!("cannot open lock file {}: {e}", path.display()))
            })?;
        if file.try_lock().is_err() {
            return Err(StateError::Locked(held_by(&mut file, state_path)));
        }
        let info = LockInfo::new(operation);
        write_info(&mut file, &info).map_err(|e| {
            StateError::Io(format!("cannot write lock file {}: {e}", path.display()))
        })?;
        Ok(StateLock { file, path, info })
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Clear the holder first so nobody reads stale info; the kernel lock goes with the file.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
        tracing::debug!(path = %self.path.display(), "state lock released");
    }
}

fn lock_path(state_path: &Path) -> PathBuf {
    let mut s = state_path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

fn held_by(file: &mut File, state_path: &Path) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    match serde_json::from_str::<LockInfo>(&text) {
        Ok(info) => format!(
            "state {} is locked by {} (pid {}, {}) since {}; lock id {}. Wait for it to finish",
            state_path.display(),
            info.who,
            info.pid,
            info.operation,
            info.since,
            info.id
        ),
        Err(_) => format!(
            "state {} is locked by another innovate process",
            state_path.display()
        ),
    }
}

fn write_info(file: &mut File, info: &LockInfo) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(
        serde_json::to_string_pretty(info)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    file.sync_all()
}

pub(super) fn whoami() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let first = StateLock::acquire(&state, "apply").unwrap();
        let err = StateLock::acquire(&state, "apply").unwrap_err().to_string();
        assert!(err.contains("is locked by"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains(&first.info.id), "{err}");
        drop(first);
        assert!(StateLock::acquire(&state, "apply").is_ok());
    }
}
