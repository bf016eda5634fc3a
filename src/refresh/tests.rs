//! Refresh against an in-memory kind: one batched read per kind, drift told apart.

use super::*;
use crate::kinds::{
    Attr, AttrType, Attrs, KindResult, Price, ResourceKind, Schema, StepCx, Tags, Tier,
};
use async_trait::async_trait;
use serde_json::json;
use std::sync::{Arc, Mutex};

static SCHEMA: Schema = Schema {
    name: "test.thing",
    attrs: &[
        Attr::optional("size", AttrType::Int),
        Attr::optional("tags", AttrType::StringMap),
        Attr::optional("rules", AttrType::List(&AttrType::String)).unordered(),
    ],
    outputs: &["ip"],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};

/// AWS as a map id -> (attrs, outputs); records every read_many call, and refuses them
/// all when `denied`.
struct Cloud {
    live: BTreeMap<String, (Attrs, Attrs)>,
    calls: Mutex<Vec<Vec<String>>>,
    denied: bool,
}

#[async_trait]
impl ResourceKind for Cloud {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }
    async fn create(&self, _: &StepCx, _: &Attrs, _: &Tags) -> KindResult<Live> {
        unreachable!("refresh never creates")
    }
    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        self.calls.lock().unwrap().push(ids.to_vec());
        if self.denied {
            return Err(KindError::new(
                "test:Describe",
                Some("AccessDenied".into()),
                "no",
            ));
        }
        Ok(ids
            .iter()
            .map(|id| {
                self.live.get(id).map(|(attrs, outputs)| Live {
                    id: id.clone(),
                    outputs: outputs.clone(),
                    attrs: Some(attrs.clone()),
                    identity: Default::default(),
                })
            })
            .collect())
    }
    async fn update(
        &self,
        _: &StepCx,
        _: &Live,
        _: &Attrs,
        _: &Attrs,
        _: &Tags,
    ) -> KindResult<Live> {
        unreachable!("refresh never updates")
    }
    async fn delete(&self, _: &StepCx, _: &Live, _: &Attrs) -> KindResult<()> {
        unreachable!("refresh never deletes")
    }
}

fn obj(v: Value) -> Attrs {
    v.as_object().unwrap().clone()
}

fn recorded(id: &str, attrs: Value) -> ResourceState {
    ResourceState {
        kind: "test.thing".into(),
        id: id.into(),
        attrs: obj(attrs),
        outputs: obj(json!({"ip": "1.1.1.1"})),
        depends_on: vec![],
        account: None,
        owner: Default::default(),
    }
}

#[tokio::test]
async fn reads_each_kind_once_and_tells_deleted_changed_and_unchanged_apart() {
    let cloud = Arc::new(Cloud {
        live: BTreeMap::from([
            (
                "i-same".to_string(),
                (
                    obj(json!({"size": 1, "tags": {"a": "b"}, "zone": "z", "rules": ["x", "y"]})),
                    obj(json!({"ip": "1.1.1.1"})),
                ),
            ),
            (
                "i-moved".to_string(),
                (
                    obj(json!({"size": 5, "tags": {"a": "b"}})),
                    obj(json!({"ip": "2.2.2.2"})),
                ),
            ),
        ]),
        calls: Mutex::new(Vec::new()),
        denied: false,
    });
    let mut registry = Registry::default();
    registry.register(cloud.clone());
    let mut state = State::new("t", "default");
    state.resources.insert(
        Address::single("same"),
        // The same set of rules in another order is no drift.
        recorded(
            "i-same",
            json!({"size": 1, "tags": {"a": "b"}, "rules": ["y", "x"]}),
        ),
    );
    state.resources.insert(
        Address::single("moved"),
        recorded("i-moved", json!({"size": 2, "tags": {"a": "b"}})),
    );
    state.resources.insert(
        Address::single("gone"),
        recorded("i-gone", json!({"size": 3})),
    );

    let result = refresh(&state, &registry).await.unwrap();
    assert_eq!(
        cloud.calls.lock().unwrap().len(),
        1,
        "one batched read for the kind"
    );
    assert_eq!(result.drift.len(), 2);
    assert_eq!(result.drift[0].change, DriftChange::Deleted);
    assert_eq!(result.drift[0].address, Address::single("gone"));
    assert_eq!(
        result.drift[1].change,
        DriftChange::Changed {
            attributes: vec![AttrDrift {
                attr: "size".into(),
                expected: Some(json!(2)),
                actual: Some(json!(5))
            }]
        }
    );
    assert!(
        !result
            .state
            .resources
            .contains_key(&Address::single("gone")),
        "a deleted resource leaves the refreshed state"
    );
    let moved = &result.state.resources[&Address::single("moved")];
    assert_eq!(moved.attrs["size"], json!(5));
    assert_eq!(
        moved.outputs["ip"],
        json!("2.2.2.2"),
        "outputs follow AWS without counting as drift"
    );
    assert!(
        !result.state.resources[&Address::single("same")]
            .attrs
            .contains_key("zone"),
        "unset attributes are not adopted"
    );
    assert_eq!(state.resources.len(), 3, "the input state is untouched");
}

#[tokio::test]
async fn a_failed_read_names_the_kind() {
    let denied = Cloud {
        live: BTreeMap::new(),
        calls: Mutex::default(),
        denied: true,
    };
    let mut registry = Registry::default();
    registry.register(Arc::new(denied));
    let mut state = State::new("t", "default");
    state
        .resources
        .insert(Address::single("x"), recorded("i-x", json!({})));
    let err = match refresh(&state, &registry).await {
        Err(err) => err.to_string(),
        Ok(_) => panic!("the read failed"),
    };
    assert_eq!(
        err,
        "refresh could not read test.thing (1 resource(s)): test:Describe failed: AccessDenied: no"
    );
}

#[test]
fn the_drift_report_names_each_resource_and_attribute() {
    assert_eq!(render_drift(&[]), "", "no drift, no section");
    let drift = [
        Drift {
            address: Address::single("gone"),
            kind: "test.thing".into(),
            id: "i-gone".into(),
            change: DriftChange::Deleted,
        },
        Drift {
            address: Address::single("moved"),
            kind: "test.thing".into(),
            id: "i-moved".into(),
            change: DriftChange::Changed {
                attributes: vec![AttrDrift {
                    attr: "size".into(),
                    expected: Some(json!(2)),
                    actual: None,
                }],
            },
        },
    ];
    assert_eq!(
        render_drift(&drift),
        "Drift: 2 resource(s) changed outside innovate since the last apply:\n\n  \
         ! gone (test.thing i-gone) was deleted outside innovate\n  \
         ! moved (test.thing i-moved) was changed outside innovate\n      \
         size: expected 2, actual null\n\n"
    );
}
