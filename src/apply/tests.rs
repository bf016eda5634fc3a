//! The executor against an in-memory kind: ordering, concurrency, failure handling and state
//! persistence, without AWS (the integration tests cover the real kinds).

use super::*;
use crate::blueprint::{self, LoadOptions};
use crate::graph::Dag;
use crate::kinds::{Attr, AttrType, KindResult, Price, Schema, Tier, CREATED_TAG, LINEAGE_TAG};
use crate::plan::{self, PlanOptions};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::Notify;

static SCHEMA: Schema = Schema {
    name: "test.thing",
    attrs: &[
        Attr::optional("parent", AttrType::String),
        Attr::optional("label", AttrType::String),
        Attr::optional("zone", AttrType::String).force_new(),
        Attr::optional("tags", AttrType::StringMap).default("{}"),
    ],
    outputs: &[],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};

/// Records every call; `fail` names labels whose create fails; `gates` hold a create until
/// notified.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    fail: Vec<String>,
    gates: HashMap<String, Arc<Notify>>,
    tags: Mutex<HashMap<String, Tags>>,
    /// Where the run saves its state: each create then notes whether the file already held
    /// its intent and its parent's result when AWS would have been called.
    disk: Mutex<Option<LocalStore>>,
    durable: Mutex<Vec<(String, bool)>>,
}

struct Thing(Arc<Recorder>);

impl Recorder {
    fn note_what_is_on_disk(&self, address: &str, desired: &Attrs) {
        let Some(store) = self.disk.lock().unwrap().clone() else {
            return;
        };
        let saved = store
            .load()
            .unwrap()
            .expect("a state file before any create");
        let intent = saved
            .pending
            .iter()
            .any(|p| p.address.to_string() == address);
        let parent = desired
            .get("parent")
            .and_then(Value::as_str)
            .is_none_or(|id| saved.resources.values().any(|r| r.id == id));
        let entry = (address.to_string(), intent && parent);
        self.durable.lock().unwrap().push(entry);
    }
}

fn label(attrs: &Attrs) -> String {
    attrs
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

#[async_trait]
impl ResourceKind for Thing {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn create(&self, _cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let name = label(desired);
        self.0
            .note_what_is_on_disk(&tags["innovate:address"], desired);
        if let Some(gate) = self.0.gates.get(&name) {
            gate.notified().await;
        }
        if self.0.fail.contains(&name) {
            return Err(KindError::new(
                "test:Create",
                Some("Boom".into()),
                format!("{name} refused"),
            ));
        }
        self.0.events.lock().unwrap().push(format!("create {name}"));
        self.0
            .tags
            .lock()
            .unwrap()
            .insert(name.clone(), tags.clone());
        let zone = desired
            .get("zone")
            .and_then(Value::as_str)
            .map(|z| format!("-{z}"))
            .unwrap_or_default();
        Ok(Live {
            attrs: None,
            id: format!("id-{name}{zone}"),
            outputs: Attrs::new(),
            identity: crate::kinds::identity_tags(tags),
        })
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        Ok(ids.iter().map(|_| None).collect())
    }

    async fn update(
        &self,
        _cx: &StepCx,
        live: &Live,
        _prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        self.0
            .tags
            .lock()
            .unwrap()
            .insert(label(desired), tags.clone());
        self.0
            .events
            .lock()
            .unwrap()
            .push(format!("update {}", label(desired)));
        Ok(live.clone())
    }

    async fn delete(&self, _cx: &StepCx, live: &Live, _prior: &Attrs) -> KindResult<()> {
        self.0
            .events
            .lock()
            .unwrap()
            .push(format!("delete {}", live.id));
        Ok(())
    }
}

struct Fixture {
    registry: Registry,
    recorder: Arc<Recorder>,
    store: LocalStore,
    _dir: tempfile::TempDir,
}

fn fixture(recorder: Recorder) -> Fixture {
    let recorder = Arc::new(recorder);
    let mut registry = Registry::default();
    registry.register(Arc::new(Thing(recorder.clone())));
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("state.json"));
    Fixture {
        registry,
        recorder,
        store,
        _dir: dir,
    }
}

/// A fixture whose kind answers at once, and the empty state of blueprint `t`.
fn plain() -> (Fixture, State) {
    (fixture(Recorder::default()), State::new("t", "default"))
}

impl Fixture {
    fn plan(&self, yaml: &str, state: &State) -> Plan {
        self.blueprint_and_plan(yaml, state).1
    }

    fn blueprint_and_plan(&self, yaml: &str, state: &State) -> (Blueprint, Plan) {
        let bp = blueprint::parse("t.yaml", yaml, &LoadOptions::default(), &self.registry).unwrap();
        let dag = Dag::build(&bp).unwrap();
        let plan = plan::plan(&bp, &dag, state, &self.registry, &PlanOptions::default());
        (bp, plan)
    }

    async fn apply(&self, yaml: &str, state: &mut State, parallelism: usize) -> ApplyReport {
        let (bp, plan) = self.blueprint_and_plan(yaml, state);
        let options = ApplyOptions {
            parallelism,
            display: ProgressMode::Plain,
        };
        execute(&plan, &bp, state, &self.store, &self.registry, &options)
            .await
            .unwrap()
    }

    fn events(&self) -> Vec<String> {
        self.recorder.events.lock().unwrap().clone()
    }

    /// Starts the next run's record of calls afresh.
    fn forget_events(&self) {
        self.recorder.events.lock().unwrap().clear();
    }
}

const CHAIN: &str = r#"
blueprint: t
resources:
  slow: { kind: test.thing, label: slow }
  fast: { kind: test.thing, label: fast }
  after_fast: { kind: test.thing, label: after_fast, parent: "${fast.id}" }
"#;

#[tokio::test]
async fn a_step_starts_as_soon_as_its_own_dependencies_are_done() {
    // `slow` is held until `after_fast` has been created: an executor that waited for a whole
    // level (slow and fast) before starting after_fast would never finish.
    let gate = Arc::new(Notify::new());
    let f = fixture(Recorder {
        gates: HashMap::from([("slow".to_string(), gate.clone())]),
        ..Default::default()
    });
    let mut state = State::new("t", "default");
    let release = {
        let recorder = f.recorder.clone();
        async move {
            while !recorder
                .events
                .lock()
                .unwrap()
                .contains(&"create after_fast".to_string())
            {
                tokio::task::yield_now().await;
            }
            gate.notify_one();
        }
    };
    let (report, ()) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(f.apply(CHAIN, &mut state, 4), release)
    })
    .await
    .expect("after_fast must not wait for slow");
    assert!(report.succeeded());
    let events = f.events();
    let at = |e: &str| events.iter().position(|x| x == e).unwrap();
    assert!(at("create fast") < at("create after_fast"));
    assert!(at("create after_fast") < at("create slow"));
    assert_eq!(
        state.resources[&Address::single("after_fast")].attrs["parent"],
        "id-fast"
    );
}

#[tokio::test]
async fn a_failure_skips_dependents_finishes_the_rest_and_saves_what_completed() {
    let f = fixture(Recorder {
        fail: vec!["fast".into()],
        ..Default::default()
    });
    let mut state = State::new("t", "default");
    let report = f.apply(CHAIN, &mut state, 2).await;
    assert_eq!(report.failed.len(), 1);
    let (address, kind, err) = &report.failed[0];
    assert_eq!(
        (address.to_string(), *kind),
        ("fast".to_string(), OpKind::Create)
    );
    assert_eq!(err.to_string(), "test:Create failed: Boom: fast refused");
    assert_eq!(
        report.skipped,
        vec![(Address::single("after_fast"), OpKind::Create)]
    );
    let saved = f.store.load().unwrap().unwrap();
    assert_eq!(
        saved
            .resources
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["slow"]
    );
    assert_eq!(saved, state, "the file holds exactly what the run recorded");
}

#[tokio::test]
async fn nothing_is_sent_before_its_intent_and_its_dependencies_are_on_disk() {
    let f = fixture(Recorder::default());
    *f.recorder.disk.lock().unwrap() = Some(f.store.clone());
    let fan = r#"
blueprint: t
resources:
  root: { kind: test.thing, label: root }
  kid: { kind: test.thing, count: 6, label: "kid${count.index}", parent: "${root.id}" }
  grandkid: { kind: test.thing, label: grandkid, parent: "${kid[3].id}" }
"#;
    let mut state = State::new("t", "default");
    let report = f.apply(fan, &mut state, 4).await;
    assert!(report.succeeded(), "{:?}", report.failed);
    let durable = f.recorder.durable.lock().unwrap().clone();
    assert_eq!(durable.len(), 8, "every create looked: {durable:?}");
    assert!(durable.iter().all(|(_, ok)| *ok), "{durable:?}");
    assert_eq!(
        f.store.load().unwrap().unwrap(),
        state,
        "the last results saved too"
    );
    assert!(state.pending.is_empty());
}

#[tokio::test]
async fn identity_tags_are_added_to_the_users_tags() {
    let (f, mut state) = plain();
    f.apply(
        "blueprint: t\nresources:\n  a: { kind: test.thing, label: a, tags: { team: x } }\n",
        &mut state,
        1,
    )
    .await;
    let tags = f.recorder.tags.lock().unwrap()["a"].clone();
    let recorded = &state.resources[&Address::single("a")].owner;
    let created = recorded[CREATED_TAG].clone();
    let expected: Tags = [
        ("team", "x"),
        ("innovate:blueprint", "t"),
        ("innovate:env", "default"),
        ("innovate:address", "a"),
        ("innovate:lineage", state.lineage.as_str()),
        ("innovate:created", created.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(tags, expected);
    assert_eq!(
        recorded,
        &owner_tags(&tags),
        "state records the owner tags sent"
    );
    assert!(
        humantime::parse_rfc3339(&created).is_ok(),
        "the stamp is a time: {created}"
    );
}

#[tokio::test]
async fn a_resource_from_before_owner_tags_gets_the_lineage_tag_in_place() {
    let (f, mut state) = plain();
    let bp = "blueprint: t\nresources:\n  a: { kind: test.thing, label: a }\n";
    f.apply(bp, &mut state, 1).await;
    let a = Address::single("a");
    // As an older build recorded it: no owner tags.
    state.resources.get_mut(&a).unwrap().owner.clear();
    let plan = f.plan(bp, &state);
    let step = plan.step(&a).unwrap();
    assert_eq!(step.action, plan::Action::Update);
    assert_eq!(step.changes.len(), 1);
    assert_eq!(step.changes[0].attr, LINEAGE_TAG);
    assert_eq!(step.changes[0].after, Some(json!(state.lineage)));
    let shown = plan::render_human(&plan, false);
    assert!(
        shown.contains(&format!("+ innovate:lineage = \"{}\"", state.lineage)),
        "{shown}"
    );
    f.apply(bp, &mut state, 1).await;
    let owner = &state.resources[&a].owner;
    assert_eq!(owner.get(LINEAGE_TAG), Some(&state.lineage));
    assert!(
        !owner.contains_key(CREATED_TAG),
        "no stamp is made up for an old resource"
    );
    let sent = f.recorder.tags.lock().unwrap()["a"].clone();
    assert_eq!(sent.get(LINEAGE_TAG), Some(&state.lineage));
    assert!(
        !f.plan(bp, &state).has_changes(),
        "tagged once, then a no-op"
    );
}

#[tokio::test]
async fn deletes_run_dependents_first_and_state_follows_each_step() {
    let (f, mut state) = plain();
    let three = "blueprint: t\nresources:\n  a: { kind: test.thing, label: a }\n  b: { kind: test.thing, label: b, parent: \"${a.id}\" }\n  c: { kind: test.thing, label: c, parent: \"${b.id}\" }\n";
    f.apply(three, &mut state, 4).await;
    let serial_after_create = state.serial;
    assert_eq!(
        serial_after_create, 4,
        "one save before each create (its intent with its parent's result) and one at the end"
    );
    f.forget_events();
    let report = f
        .apply("blueprint: t\nresources: {}\n", &mut state, 4)
        .await;
    assert!(report.succeeded());
    assert_eq!(f.events(), ["delete id-c", "delete id-b", "delete id-a"]);
    assert!(state.resources.is_empty());
    assert_eq!(state.serial, serial_after_create + 3, "one save per delete");
}

/// Applies `a` in zone z1 with `b` pointing at it, then moves `a` to zone z2 (zone forces a
/// replace); `a_extra` is spliced into a's attributes. Answers the second run, whose calls
/// are the only ones recorded.
async fn move_a_to_another_zone(f: &Fixture, state: &mut State, a_extra: &str) -> ApplyReport {
    let version = |zone: &str| {
        format!("blueprint: t\nresources:\n  a: {{ kind: test.thing, label: a, zone: {zone}{a_extra} }}\n  b: {{ kind: test.thing, label: b, parent: \"${{a.id}}\" }}\n")
    };
    f.apply(&version("z1"), state, 4).await;
    f.forget_events();
    f.apply(&version("z2"), state, 4).await
}

#[tokio::test]
async fn a_replace_deletes_the_old_one_first_and_dependents_update_to_the_new_id() {
    let (f, mut state) = plain();
    let report = move_a_to_another_zone(&f, &mut state, "").await;
    assert!(report.succeeded());
    assert_eq!(f.events(), ["delete id-a-z1", "create a", "update b"]);
    assert_eq!(
        state.resources[&Address::single("b")].attrs["parent"],
        "id-a-z2"
    );
}

#[tokio::test]
async fn create_before_destroy_creates_repoints_then_deletes_the_old_object() {
    let (f, mut state) = plain();
    let cbd = ", lifecycle: { create_before_destroy: true }";
    let report = move_a_to_another_zone(&f, &mut state, cbd).await;
    assert!(report.succeeded());
    assert_eq!(f.events(), ["create a", "update b", "delete id-a-z1"]);
    assert!(
        state.deposed.is_empty(),
        "the old object is gone from state too"
    );
    assert_eq!(state.resources[&Address::single("a")].id, "id-a-z2");
}

#[tokio::test]
async fn a_deposed_object_left_by_a_crash_is_deleted_by_the_next_run() {
    let (f, mut state) = plain();
    let just_a = "blueprint: t\nresources:\n  a: { kind: test.thing, label: a }\n";
    f.apply(just_a, &mut state, 1).await;
    let old = state.resources[&Address::single("a")].clone();
    state.deposed.push(crate::state::Deposed {
        address: Address::single("a"),
        resource: ResourceState {
            id: "id-old".into(),
            ..old
        },
    });
    f.forget_events();
    let report = f.apply(just_a, &mut state, 1).await;
    assert!(report.succeeded());
    assert_eq!(f.events(), ["delete id-old"]);
    assert!(state.deposed.is_empty());
    assert_eq!(
        state.resources[&Address::single("a")].id,
        "id-a",
        "the current object is untouched"
    );
}

#[tokio::test]
async fn ignore_changes_keeps_the_recorded_value() {
    let (f, mut state) = plain();
    let version = |label: &str, team: &str| {
        format!("blueprint: t\nresources:\n  a: {{ kind: test.thing, label: {label}, tags: {{ team: {team} }}, lifecycle: {{ ignore_changes: [tags] }} }}\n")
    };
    f.apply(&version("a", "x"), &mut state, 1).await;
    f.forget_events();
    f.apply(&version("a", "y"), &mut state, 1).await;
    assert!(
        f.events().is_empty(),
        "only an ignored attribute changed: nothing to do"
    );
    f.apply(&version("a2", "y"), &mut state, 1).await;
    assert_eq!(f.events(), ["update a2"]);
    assert_eq!(
        state.resources[&Address::single("a")].attrs["tags"],
        json!({"team": "x"})
    );
}
