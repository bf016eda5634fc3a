//! Runs the real `innovate` binary in a scratch folder against this test binary's emulator.

use super::emulator;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch working folder holding one blueprint; state lands in its `state/`.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `blueprint.yaml` (replacing the previous one).
    pub fn write_blueprint(&self, text: &str) -> PathBuf {
        let path = self.path().join("blueprint.yaml");
        std::fs::write(&path, text).expect("write blueprint");
        path
    }

    pub fn state_file(&self, name: &str) -> PathBuf {
        self.path().join("state").join(name)
    }

    /// Runs innovate with `args`, stdin closed, against the emulator.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    pub fn run_with_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        for (k, v) in extra_env {
            command.env(k, v);
        }
        Run(command.output().expect("run innovate"))
    }

    /// The command, not yet started (for tests that need the child process).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_innovate"));
        command
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        for (k, v) in emulator::child_env() {
            command.env(k, v);
        }
        command
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts the exit code, showing both streams when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}
