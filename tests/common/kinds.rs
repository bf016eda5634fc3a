//! Drives resource kinds one call at a time, as the engine would call them (attributes as
//! JSON, the blueprint's tags plus innovate's identity tags), for the per-kind integration
//! tests. Failures panic with the address, the kind and AWS's message.

use aws_config::SdkConfig;
use innovate::aws::{registry, AwsContext};
use innovate::kinds::{same_value, Attrs, KindError, Live, Registry, ResourceKind, StepCx, Tags};
use serde_json::Value;
use std::sync::{Arc, Mutex};

pub struct KindDriver {
    registry: Registry,
    /// The `innovate:blueprint` tag of everything these tests create.
    blueprint: &'static str,
    /// Where the steps' phases go ("waiting for ACTIVE 3s"), when a test reads them.
    phases: Option<Arc<Mutex<Vec<String>>>>,
}

impl KindDriver {
    pub fn new(config: SdkConfig, blueprint: &'static str) -> KindDriver {
        KindDriver {
            registry: registry(AwsContext::with_config(config)),
            blueprint,
            phases: None,
        }
    }

    /// The kinds, their calls going through the proxy at `endpoint` (one that answers as
    /// AWS does where the emulator does not).
    pub async fn through(endpoint: &str, blueprint: &'static str) -> KindDriver {
        let config = super::emulator::sdk_config().await.to_builder();
        KindDriver::new(config.endpoint_url(endpoint).build(), blueprint)
    }

    /// Every step records the phases it reports; [`KindDriver::phases`] reads them.
    pub fn recording_phases(mut self) -> KindDriver {
        self.phases = Some(Arc::new(Mutex::new(Vec::new())));
        self
    }

    pub fn phases(&self) -> Vec<String> {
        let phases = self.phases.as_ref().expect("a driver recording phases");
        phases.lock().unwrap().clone()
    }

    pub fn kind(&self, name: &str) -> Arc<dyn ResourceKind> {
        self.registry
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not registered"))
            .clone()
    }

    /// The step context of `address`: silent, or recording phases.
    pub fn cx(&self, address: &str) -> StepCx {
        match &self.phases {
            None => StepCx::silent(address),
            Some(phases) => {
                let sink = phases.clone();
                StepCx::new(
                    address.into(),
                    Arc::new(move |_, phase| sink.lock().unwrap().push(phase.into())),
                )
            }
        }
    }

    /// What the engine hands a kind: the blueprint's tags plus innovate's identity tags.
    pub fn tags(&self, address: &str, desired: &Value) -> Tags {
        tags_for(self.blueprint, address, desired)
    }

    pub async fn try_create_with(
        &self,
        kind: &str,
        cx: &StepCx,
        desired: &Value,
    ) -> Result<Live, KindError> {
        let tags = self.tags(&cx.address, desired);
        self.kind(kind).create(cx, &attrs(desired), &tags).await
    }

    pub async fn create_with(&self, kind: &str, cx: &StepCx, desired: &Value) -> Live {
        let created = self.try_create_with(kind, cx, desired).await;
        created.unwrap_or_else(|err| panic!("creating {} ({kind}) failed: {err}", cx.address))
    }

    pub async fn try_create(
        &self,
        kind: &str,
        address: &str,
        desired: &Value,
    ) -> Result<Live, KindError> {
        self.try_create_with(kind, &self.cx(address), desired).await
    }

    pub async fn create(&self, kind: &str, address: &str, desired: &Value) -> Live {
        self.create_with(kind, &self.cx(address), desired).await
    }

    pub async fn update_with(
        &self,
        kind: &str,
        cx: &StepCx,
        live: &Live,
        prior: &Value,
        desired: &Value,
    ) -> Live {
        let tags = self.tags(&cx.address, desired);
        let updated = self
            .kind(kind)
            .update(cx, live, &attrs(prior), &attrs(desired), &tags)
            .await;
        updated.unwrap_or_else(|err| panic!("updating {} ({kind}) failed: {err}", cx.address))
    }

    pub async fn update(
        &self,
        kind: &str,
        address: &str,
        live: &Live,
        prior: &Value,
        desired: &Value,
    ) -> Live {
        let cx = self.cx(address);
        self.update_with(kind, &cx, live, prior, desired).await
    }

    pub async fn try_delete_with(
        &self,
        kind: &str,
        cx: &StepCx,
        live: &Live,
        prior: &Value,
    ) -> Result<(), KindError> {
        self.kind(kind).delete(cx, live, &attrs(prior)).await
    }

    pub async fn delete_with(&self, kind: &str, cx: &StepCx, live: &Live, prior: &Value) {
        let deleted = self.try_delete_with(kind, cx, live, prior).await;
        deleted.unwrap_or_else(|err| panic!("deleting {} ({kind}) failed: {err}", live.id));
    }

    pub async fn try_delete(
        &self,
        kind: &str,
        live: &Live,
        prior: &Value,
    ) -> Result<(), KindError> {
        self.try_delete_with(kind, &self.cx("deleting"), live, prior)
            .await
    }

    pub async fn delete(&self, kind: &str, live: &Live, prior: &Value) {
        self.delete_with(kind, &self.cx("deleting"), live, prior)
            .await
    }

    /// Reads as refresh does: one batched call for all `ids`.
    pub async fn read(&self, kind: &str, ids: &[&str]) -> Vec<Option<Live>> {
        let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        let read = self.kind(kind).read_many(&ids).await;
        read.unwrap_or_else(|err| panic!("reading {kind} {ids:?} failed: {err}"))
    }

    /// One resource as refresh reads it; it must exist.
    pub async fn read_one(&self, kind: &str, id: &str) -> Live {
        let found = self.read(kind, &[id]).await.pop().flatten();
        found.unwrap_or_else(|| panic!("{kind} {id} is gone"))
    }

    /// The attributes refresh would report as drift for `live` (as `read_many` reports
    /// it) against a state that recorded `desired`: the blueprint's attributes with schema
    /// defaults filled in, as the engine records them.
    pub fn drift(&self, kind: &str, live: &Live, desired: &Value) -> Vec<String> {
        let schema = self.kind(kind).schema();
        let recorded: Attrs = schema
            .attrs
            .iter()
            .filter_map(|attr| {
                let given = desired.get(attr.name).filter(|v| !v.is_null()).cloned();
                Some((
                    attr.name.to_string(),
                    given.or_else(|| attr.default_value())?,
                ))
            })
            .collect();
        let observed = live.attrs.as_ref().expect("read_many reports attrs");
        // Compared as refresh compares them: by the schema's own sameness (sets, case).
        let same = |name: &str, expected: &Value, actual: &Value| match schema.attr(name) {
            Some(attr) => attr.same(expected, actual),
            None => same_value(expected, actual),
        };
        observed
            .iter()
            .filter(|(name, actual)| {
                recorded
                    .get(*name)
                    .is_some_and(|expected| !same(name, expected, actual))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Reads `id` and checks that nothing drifted from `desired`.
    pub async fn assert_no_drift(&self, kind: &str, id: &str, desired: &Value) -> Live {
        let live = self.read_one(kind, id).await;
        let drift = self.drift(kind, &live, desired);
        assert!(
            drift.is_empty(),
            "{kind} {id}: false drift in {drift:?}\nobserved: {:?}\ndesired: {desired}",
            live.attrs
        );
        live
    }
}

/// The tags the engine hands a kind at `address` of `blueprint`: the user's `tags` in
/// `desired` plus innovate's identity tags.
pub fn tags_for(blueprint: &str, address: &str, desired: &Value) -> Tags {
    let mut tags: Tags = desired["tags"]
        .as_object()
        .map(|user| {
            user.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default();
    tags.insert("innovate:blueprint".into(), blueprint.into());
    tags.insert("innovate:env".into(), "test".into());
    tags.insert("innovate:address".into(), address.into());
    tags
}

pub fn attrs(value: &Value) -> Attrs {
    value.as_object().expect("attributes are an object").clone()
}

/// An output a kind reported; it must be there.
pub fn output<'a>(live: &'a Live, name: &str) -> &'a str {
    live.outputs
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} has no output {name}: {:?}", live.id, live.outputs))
}
