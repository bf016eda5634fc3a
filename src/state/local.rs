//! The local state backend: one JSON file, written atomically (temp file, fsync, rename) with
//! the previous version kept beside it as `<file>.backup`.

use super::{State, StateError, SCHEMA_VERSION};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct LocalStore {
    path: PathBuf,
}

impl LocalStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".backup")
    }

    /// Reads the state; `None` when there is no file yet. A file that is not a state this
    /// build understands is refused, and never overwritten (nothing writes without a load).
    pub fn load(&self) -> Result<Option<State>, StateError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StateError::Io(format!(
                    "cannot read state {}: {e}",
                    self.path.display()
                )))
            }
        };
        parse(&self.path, &text).map(Some)
    }

    /// Replaces the state file atomically, keeping the previous version as the backup.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        let io = |what: &str, e: std::io::Error| {
            StateError::Io(format!("cannot {what} {}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| io("create the folder of", e))?;
        }
        let text = render_document(state)?;
        let tmp = with_suffix(&self.path, ".tmp");
        let mut file = File::create(&tmp).map_err(|e| io("write", e))?;
        file.write_all(&text).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
        self.keep_backup().map_err(|e| io("back up", e))?;
        fs::rename(&tmp, &self.path).map_err(|e| io("replace", e))?;
        sync_dir(&self.path);
        Ok(())
    }

    /// Hard-links the current file as the backup: the rename that follows leaves the old
    /// version there without copying it.
    fn keep_backup(&self) -> std::io::Result<()> {
        if !self.path.exists() {
            return Ok(());
        }
        let backup = self.backup_path();
        let _ = fs::remove_file(&backup);
        fs::hard_link(&self.path, &backup).or_else(|_| fs::copy(&self.path, &backup).map(|_| ()))
    }
}

fn parse(path: &Path, text: &str) -> Result<State, StateError> {
    parse_document("state file", &path.display().to_string(), text)
}

/// Reads a state document, local or remote: `what` names it in messages ("state file",
/// "state object"), `shown` is its path or URL. Refuses anything that is not a state this
/// build understands.
pub(super) fn parse_document(what: &str, shown: &str, text: &str) -> Result<State, StateError> {
    let noun = what.rsplit(' ').next().unwrap_or(what);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        StateError::Refused(format!(
            "{what} {shown} is corrupted ({e}); innovate will not use or overwrite it. \
             Restore {shown}.backup or fix the {noun} by hand"
        ))
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some("innovate-state") {
        return Err(StateError::Refused(format!("{shown} is not an innovate {what} (no \"format\": \"innovate-state\"); refusing to use it")));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(SCHEMA_VERSION) {
        return Err(StateError::Refused(format!(
            "{what} {shown} has schema version {version}, newer than this innovate understands ({SCHEMA_VERSION}); upgrade innovate. The {noun} was not changed"
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        StateError::Refused(format!("{what} {shown} is damaged ({e}); innovate will not use or overwrite it. Restore {shown}.backup"))
    })
}

/// The bytes of a state document, exactly as every backend writes it.
pub(super) fn render_document(state: &State) -> Result<Vec<u8>, StateError> {
    let mut text = serde_json::to_vec_pretty(state).map_err(|e| StateError::Io(e.to_string()))?;
    text.push(b'\n');
    Ok(text)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Makes the rename durable: fsync the folder that holds the file.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("state/net-dev.json"));
        (dir, store)
    }

    #[test]
    fn saves_atomically_and_keeps_the_previous_version() {
        let (_dir, store) = store();
        assert_eq!(store.load().unwrap(), None);
        let mut state = State::new("net", "dev");
        store.save(&state).unwrap();
        state.serial = 1;
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap().unwrap().serial, 1);
        let backup: State =
            serde_json::from_str(&fs::read_to_string(store.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 0);
        assert!(!with_suffix(store.path(), ".tmp").exists());
    }

    #[test]
    fn refuses_corrupted_and_newer_files_without_touching_them() {
        let (_dir, store) = store();
        fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        for (text, expected) in [
            ("{\"format\": \"innovate-state\", \"vers", "corrupted"),
            (
                "{\"format\": \"innovate-state\", \"version\": 99}",
                "newer than this innovate",
            ),
            ("{\"hello\": 1}", "not an innovate state file"),
            (
                "{\"format\": \"innovate-state\", \"version\": 1, \"serial\": \"x\"}",
                "damaged",
            ),
        ] {
            fs::write(store.path(), text).unwrap();
            let err = store.load().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert_eq!(fs::read_to_string(store.path()).unwrap(), text);
        }
    }
}
