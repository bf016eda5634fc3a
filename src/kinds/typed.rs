//! The typed kind layer. A kind states its spec and AWS item types and the calls only it
//! knows (create, describe by ids, list, update, delete, the item's attributes); [`Typed`]
//! turns it into a [`ResourceKind`] and supplies what every kind shares: spec parsing,
//! ordered batched reads, read-after-create through AWS's eventual consistency, listing by
//! identity tags, tag sync, "already gone" on delete.

use super::tags::{carries_all, user_tags, Tagging};
use super::{
    identity_tags, parse_spec, retry_while, Attrs, Backoff, KindError, KindResult, Live,
    ResourceKind, Schema, StepCx, Tags, TAGS,
};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

/// What a kind's describe call answers, and the calls every kind of its service makes on
/// it: describe by ids, list by tags, the item's tags and where they are synced. A service
/// states these once for all its kinds (EC2 with one `ec2_item!` line an item).
#[async_trait]
pub trait AwsItem: Sized + Send + Sync + 'static {
    /// What the calls go through: the service's client, or the context holding it.
    type Client: Send + Sync;

    /// The describe call ("ec2:DescribeVpcs") and AWS's codes for an id that does not
    /// exist: a delete meeting one has nothing left to do, a read-after-create meeting one
    /// waits for the new resource to become visible.
    const DESCRIBE: &'static str;
    const NOT_FOUND: &'static [&'static str];

    /// Describes `ids` in as few calls as the API allows, leaving out those that are gone.
    async fn describe(client: &Self::Client, ids: &[String]) -> KindResult<Vec<Self>>;

    /// Every resource that may carry `tags`, when AWS can list them (filtered by tag where
    /// it can; the layer checks every tag on what comes back). `None`: not listable.
    async fn list(client: &Self::Client, tags: &Tags) -> KindResult<Option<Vec<Self>>> {
        let _ = (client, tags);
        Ok(None)
    }

    /// The tags the item carries, when the describe call reports them.
    fn tags(&self) -> Option<Tags> {
        None
    }

    /// Where the tag sync after an update reaches the item, resource `id`: the service's
    /// tag calls and the name they address it by (its id, or its ARN). `None`: its tags
    /// are not synced. Where [`AwsItem::tags`] says nothing, the sync asks the service's
    /// [`TagApi::list`](super::TagApi::list).
    async fn tagging(&self, client: &Self::Client, id: &str) -> KindResult<Option<Tagging>> {
        let _ = (client, id);
        Ok(None)
    }
}

/// The client kind `K`'s item calls go through.
pub type ClientOf<K> = <<K as AwsKind>::Item as AwsItem>::Client;

/// One AWS resource kind, stated in its own types. Wrap it in [`Typed`] to register it.
#[async_trait]
pub trait AwsKind: Send + Sync + 'static {
    /// What the blueprint says about one instance (declared with [`spec!`](crate::spec)).
    type Spec: DeserializeOwned + Send + Sync;
    /// What the kind's describe call answers for one resource.
    type Item: AwsItem;

    /// The kind's attributes, outputs, tier and price.
    const SCHEMA: &'static Schema;

    /// Creates the resource tagged with `tags` where the API allows it, waits until it is
    /// usable, and returns its id.
    async fn create(
        &self,
        cx: &KindCx<'_, ClientOf<Self>>,
        spec: &Self::Spec,
        tags: &Tags,
    ) -> KindResult<String>;

    /// The item as innovate sees it: id, outputs and observed attributes. The layer adds
    /// the `tags` attribute and [`Live::identity`] from [`AwsItem::tags`].
    fn live(&self, aws: &ClientOf<Self>, item: &Self::Item) -> Option<Live>;

    /// Changes what [`Change::changed`] says in place; the layer syncs the tags after it.
    /// Kinds whose every attribute forces a replace keep the default: only tags change.
    async fn update(
        &self,
        cx: &KindCx<'_, ClientOf<Self>>,
        change: &Change<'_, Self>,
    ) -> KindResult<()> {
        let _ = (cx, change);
        Ok(())
    }

    /// Deletes the resource and waits until AWS has let go of it. An answer with one of
    /// [`AwsItem::NOT_FOUND`] counts as deleted.
    async fn delete(
        &self,
        cx: &KindCx<'_, ClientOf<Self>>,
        live: &Live,
        prior: &Attrs,
    ) -> KindResult<()>;

    /// See [`ResourceKind::natural_id`].
    fn natural_id(&self, spec: &Self::Spec) -> Option<String> {
        let _ = spec;
        None
    }

    /// See [`ResourceKind::conflict_codes`].
    fn conflict_codes(&self) -> &'static [&'static str] {
        &[]
    }

    /// See [`ResourceKind::delete_refusal`].
    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        let _ = prior;
        None
    }

    /// See [`ResourceKind::delete_note`].
    fn delete_note(&self, prior: &Attrs) -> Option<String> {
        let _ = prior;
        None
    }

    /// See [`ResourceKind::identity_of`]: for kinds whose describe leaves tags out.
    async fn identity_of(&self, aws: &ClientOf<Self>, live: &Live) -> KindResult<Tags> {
        let _ = aws;
        Ok(live.identity.clone())
    }
}

/// What a kind's create, update and delete get: the step ([`StepCx`], which this derefs
/// to: progress, the blueprint's timeouts) and the client the kind's calls go through.
pub struct KindCx<'a, C> {
    pub step: &'a StepCx,
    pub aws: &'a C,
}

impl<C> Deref for KindCx<'_, C> {
    type Target = StepCx;

    fn deref(&self) -> &StepCx {
        self.step
    }
}

/// One in-place update: the resource as AWS has it now and as state and the blueprint
/// want it.
pub struct Change<'a, K: AwsKind + ?Sized> {
    pub live: &'a Live,
    pub current: &'a K::Item,
    pub desired: &'a K::Spec,
    pub prior_attrs: &'a Attrs,
    pub desired_attrs: &'a Attrs,
    pub tags: &'a Tags,
    schema: &'static Schema,
}

impl<K: AwsKind + ?Sized> Change<'_, K> {
    /// Whether attribute `name` differs between state and the blueprint (an absent one
    /// counting as its default).
    pub fn changed(&self, name: &str) -> bool {
        super::changed(self.schema, self.prior_attrs, self.desired_attrs, name)
    }

    pub fn id(&self) -> &str {
        &self.live.id
    }
}

/// A [`ResourceKind`] made of an [`AwsKind`] and the client its calls go through.
pub struct Typed<K: AwsKind> {
    kind: K,
    client: Arc<ClientOf<K>>,
}

impl<K: AwsKind> Typed<K> {
    pub fn new(kind: K, client: Arc<ClientOf<K>>) -> Typed<K> {
        Typed { kind, client }
    }

    fn cx<'a>(&'a self, step: &'a StepCx) -> KindCx<'a, ClientOf<K>> {
        KindCx {
            step,
            aws: &self.client,
        }
    }

    fn to_live(&self, item: &K::Item) -> Option<Live> {
        let mut live = self.kind.live(&self.client, item)?;
        if let Some(tags) = item.tags() {
            if let Some(attrs) = live.attrs.as_mut() {
                attrs.insert(TAGS.name.to_string(), user_tags(&tags));
            }
            live.identity = identity_tags(&tags);
        }
        Some(live)
    }

    async fn read(&self, ids: &[String]) -> KindResult<Vec<(K::Item, Live)>> {
        let items = K::Item::describe(&self.client, ids).await?;
        Ok(items
            .into_iter()
            .filter_map(|item| self.to_live(&item).map(|live| (item, live)))
            .collect())
    }

    /// The resource `id` and its item, waiting (bounded) while a fresh one is not visible.
    async fn read_existing(&self, id: &str) -> KindResult<(K::Item, Live)> {
        let ids = [id.to_string()];
        let (call, not_found) = (K::Item::DESCRIBE, K::Item::NOT_FOUND);
        retry_while(not_found, Backoff::CONSISTENCY, || async {
            let found = self.read(&ids).await?.pop();
            found.ok_or_else(|| gone(call, not_found, id))
        })
        .await
    }

    async fn sync_tags(&self, item: &K::Item, id: &str, desired: &Tags) -> KindResult<()> {
        let Some(tagging) = item.tagging(&self.client, id).await? else {
            return Ok(());
        };
        let carried = tagging.carried(item.tags()).await?;
        tagging.sync(&carried, desired).await
    }
}

#[async_trait]
impl<K: AwsKind> ResourceKind for Typed<K> {
    fn schema(&self) -> &'static Schema {
        K::SCHEMA
    }

    #[cfg(test)]
    fn spec_fits_schema(&self) -> Result<(), String> {
        super::spec_fits_schema::<K::Spec>(K::SCHEMA)
    }

    async fn create(&self, cx: &StepCx, desired: &Attrs, tags: &Tags) -> KindResult<Live> {
        let spec: K::Spec = parse_spec(K::SCHEMA, desired)?;
        let id = self.kind.create(&self.cx(cx), &spec, tags).await?;
        Ok(self.read_existing(&id).await?.1)
    }

    async fn read_many(&self, ids: &[String]) -> KindResult<Vec<Option<Live>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.read(ids).await?.into_iter().map(|(_, live)| live);
        Ok(in_order(ids, found.collect()))
    }

    fn natural_id(&self, desired: &Attrs) -> Option<String> {
        let spec: K::Spec = parse_spec(K::SCHEMA, desired).ok()?;
        self.kind.natural_id(&spec)
    }

    fn conflict_codes(&self) -> &'static [&'static str] {
        self.kind.conflict_codes()
    }

    async fn list_tagged(&self, tags: &Tags) -> KindResult<Option<Vec<Live>>> {
        let Some(items) = K::Item::list(&self.client, tags).await? else {
            return Ok(None);
        };
        let mut found = Vec::new();
        for live in items.iter().filter_map(|item| self.to_live(item)) {
            let identity = self.kind.identity_of(&self.client, &live).await?;
            if carries_all(&identity, tags) {
                found.push(Live { identity, ..live });
            }
        }
        Ok(Some(found))
    }

    async fn identity_of(&self, live: &Live) -> KindResult<Tags> {
        self.kind.identity_of(&self.client, live).await
    }

    async fn update(
        &self,
        cx: &StepCx,
        live: &Live,
        prior: &Attrs,
        desired: &Attrs,
        tags: &Tags,
    ) -> KindResult<Live> {
        let spec: K::Spec = parse_spec(K::SCHEMA, desired)?;
        let (current, _) = self.read_existing(&live.id).await?;
        let change = Change::<K> {
            live,
            current: &current,
            desired: &spec,
            prior_attrs: prior,
            desired_attrs: desired,
            tags,
            schema: K::SCHEMA,
        };
        self.kind.update(&self.cx(cx), &change).await?;
        if K::SCHEMA.taggable {
            self.sync_tags(&current, &live.id, tags).await?;
        }
        Ok(self.read_existing(&live.id).await?.1)
    }

    fn delete_refusal(&self, prior: &Attrs) -> Option<String> {
        self.kind.delete_refusal(prior)
    }

    fn delete_note(&self, prior: &Attrs) -> Option<String> {
        self.kind.delete_note(prior)
    }

    /// A "not found" answer ends the delete only when the resource itself is gone: IAM,
    /// for one, answers NoSuchEntity about a policy detached a moment ago too, and taking
    /// that for the role's own absence would make state forget a role that still exists.
    async fn delete(&self, cx: &StepCx, live: &Live, prior: &Attrs) -> KindResult<()> {
        match self.kind.delete(&self.cx(cx), live, prior).await {
            Err(err) if err.has_code_in(K::Item::NOT_FOUND) => {
                let still_there = self.read(std::slice::from_ref(&live.id)).await?;
                if still_there.is_empty() {
                    Ok(())
                } else {
                    Err(err)
                }
            }
            other => other,
        }
    }
}

/// The error a describe call gives for a resource that is gone.
pub fn gone(call: &str, not_found: &[&str], id: &str) -> KindError {
    let code = not_found.first().map(|code| code.to_string());
    KindError::new(call, code, format!("{id} no longer exists"))
}

/// Lines found resources up with `ids`: `None` where one is gone.
pub fn in_order(ids: &[String], found: Vec<Live>) -> Vec<Option<Live>> {
    let mut by_id: HashMap<String, Live> = found.into_iter().map(|l| (l.id.clone(), l)).collect();
    ids.iter().map(|id| by_id.remove(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Tier;

    crate::spec! {
        struct Spec {}
    }

    const SCHEMA: Schema = Schema::new("test.kind", Tier::Identity, Spec::ATTRS);

    /// A kind whose delete answers "not found"; its client says whether its describe still
    /// finds the resource.
    struct NotFoundOnDelete;

    /// The fake's item: a resource id.
    struct Item(String);

    #[async_trait]
    impl AwsItem for Item {
        /// Whether the resource is still there.
        type Client = bool;
        const DESCRIBE: &'static str = "test:Describe";
        const NOT_FOUND: &'static [&'static str] = &["NoSuchEntity"];

        async fn describe(still_there: &bool, ids: &[String]) -> KindResult<Vec<Item>> {
            let found = ids.iter().filter(|_| *still_there);
            Ok(found.cloned().map(Item).collect())
        }
    }

    #[async_trait]
    impl AwsKind for NotFoundOnDelete {
        type Spec = Spec;
        type Item = Item;
        const SCHEMA: &'static Schema = &SCHEMA;

        async fn create(&self, _: &KindCx<'_, bool>, _: &Spec, _: &Tags) -> KindResult<String> {
            unreachable!("not created in these tests")
        }

        fn live(&self, _: &bool, item: &Item) -> Option<Live> {
            Some(Live::observed(item.0.clone(), Attrs::new(), Attrs::new()))
        }

        async fn delete(&self, _: &KindCx<'_, bool>, _: &Live, _: &Attrs) -> KindResult<()> {
            let message = "The policy with name p cannot be found.";
            Err(KindError::new(
                "test:DetachPolicy",
                Some("NoSuchEntity".into()),
                message,
            ))
        }
    }

    #[tokio::test]
    async fn not_found_while_deleting_counts_as_deleted_only_when_the_resource_is_gone() {
        let live = Live::observed("r".into(), Attrs::new(), Attrs::new());
        let cx = StepCx::silent("test.kind.r");
        let gone = Typed::new(NotFoundOnDelete, Arc::new(false));
        assert_eq!(gone.delete(&cx, &live, &Attrs::new()).await, Ok(()));
        let still_there = Typed::new(NotFoundOnDelete, Arc::new(true));
        let err = still_there
            .delete(&cx, &live, &Attrs::new())
            .await
            .unwrap_err();
        assert_eq!(err.call, "test:DetachPolicy");
    }
}
