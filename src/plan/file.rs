//! Saved plans (`plan --out FILE`): everything `apply FILE` needs to do exactly what was
//! shown, plus the state's lineage and serial so a plan made against an older state is refused.

use super::Plan;
use crate::blueprint::Blueprint;
use crate::state::State;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const PLAN_FORMAT: &str = "innovate-plan";
const PLAN_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub version: u32,
    pub blueprint: Blueprint,
    pub state_path: PathBuf,
    /// The state the plan was made against: `None` when there was none yet.
    pub state_lineage: Option<String>,
    pub state_serial: Option<u64>,
    pub destroy: bool,
    pub plan: Plan,
    /// The state as refresh found it, which the plan was computed against and `apply FILE`
    /// starts from (absent when the plan was made with --refresh=false).
    #[serde(default)]
    pub refreshed: Option<State>,
}

impl PlanFile {
    pub fn new(
        blueprint: Blueprint,
        state_path: PathBuf,
        state: Option<&State>,
        refreshed: Option<State>,
        destroy: bool,
        plan: Plan,
    ) -> Self {
        PlanFile {
            format: PLAN_FORMAT.into(),
            version: PLAN_VERSION,
            blueprint,
            state_path,
            state_lineage: state.map(|s| s.lineage.clone()),
            state_serial: state.map(|s| s.serial),
            destroy,
            plan,
            refreshed,
        }
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// Reads a saved plan; `Ok(None)` when the file is not one (a blueprint, say).
    pub fn read(path: &Path) -> Result<Option<PlanFile>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Ok(None);
        };
        if value.get("format").and_then(|f| f.as_str()) != Some(PLAN_FORMAT) {
            return Ok(None);
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(PLAN_VERSION) {
            return Err(format!("{} is a plan of format version {version}; this innovate reads version {PLAN_VERSION}. Make the plan again", path.display()));
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| format!("{} is a damaged plan file: {e}", path.display()))
    }

    /// Refuses a plan whose state moved on since it was made.
    pub fn check_state(&self, state: Option<&State>) -> Result<(), String> {
        let now = (state.map(|s| s.lineage.clone()), state.map(|s| s.serial));
        let then = (self.state_lineage.clone(), self.state_serial);
        if now == then {
            return Ok(());
        }
        let describe = |(lineage, serial): &(Option<String>, Option<u64>)| match (lineage, serial) {
            (Some(l), Some(s)) => format!("lineage {l}, serial {s}"),
            _ => "no state".to_string(),
        };
        Err(format!(
            "the saved plan is stale: it was made against {} but the state is now {}. Run `innovate plan` again",
            describe(&then),
            describe(&now)
        ))
    }
}
