//! `ec2.security_group`: a VPC security group whose ingress and egress rules are reconciled
//! in place. Each blueprint rule expands into AWS's permission entries ([`rules`]); only the
//! entries that differ from what AWS reports are changed ([`apply`]), so unchanged rules
//! never blink.

mod apply;
mod rules;

use super::{carries_all, delete_retrying, filter, has_code, missing, observed, outputs};
use super::{string_or_null, tags};
use crate::aws::{aws_call, retry_while, AwsContext, Backoff, Cx};
use crate::kinds::{
    gone, identity_tags, AttrType, Attrs, AwsKind, Change, KindError, KindResult, Live, Schema,
    Tags, Tier, IDENTITY_TAGS,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, SecurityGroup};
use aws_sdk_ec2::Client;
use rules::{expand, from_aws, observed_rules, Direction, Permissions, RuleSpec};

/// What AWS gives every new VPC security group, so that leaving `egress` out keeps it.
const DEFAULT_EGRESS: &str =
    r#"[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]"#;

crate::spec! {
    pub(super) struct Spec with tags {
        vpc_id: String = required(AttrType::String).force_new(),
        group_name: Option<String> = optional(AttrType::String).force_new(),
        description: String = optional(AttrType::String)
            .default("\"Managed by innovate\"")
            .force_new(),
        ingress: Vec<RuleSpec> = optional(AttrType::List(&AttrType::Object(RuleSpec::ATTRS)))
            .default("[]")
            .unordered(),
        egress: Vec<RuleSpec> = optional(AttrType::List(&AttrType::Object(RuleSpec::ATTRS)))
            .default(DEFAULT_EGRESS)
            .unordered(),
    }
}

const SCHEMA: Schema =
    Schema::new("ec2.security_group", Tier::Network, Spec::ATTRS).outputs(&["arn", "owner_id"]);

const NOT_FOUND: &str = "InvalidGroup.NotFound";
const DESCRIBE: &str = "ec2:DescribeSecurityGroups";

ec2_item!(SecurityGroup, DESCRIBE, &[NOT_FOUND], described by describe,
    listed by describe_security_groups.filters);

pub(super) struct SecurityGroupKind;

#[async_trait]
impl AwsKind for SecurityGroupKind {
    type Spec = Spec;
    type Item = SecurityGroup;
    const SCHEMA: &'static Schema = &SCHEMA;

    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        let rules = desired_rules(spec)?;
        let name = match &spec.group_name {
            Some(name) => name.clone(),
            None => default_group_name(tags)?,
        };
        let ec2 = cx.aws.ec2().await;
        let id = create_group(ec2, spec, &name, tags).await?;
        let ids = std::slice::from_ref(&id);
        let group = retry_while(&[NOT_FOUND], Backoff::CONSISTENCY, || async move {
            let found = describe(ec2, ids).await?.pop();
            found.ok_or_else(|| gone(DESCRIBE, &[NOT_FOUND], &ids[0]))
        })
        .await?;
        apply::reconcile(ec2, &group, &rules).await?;
        Ok(id)
    }

    fn live(&self, aws: &AwsContext, group: &SecurityGroup) -> Option<Live> {
        to_live(aws, group)
    }

    async fn update(&self, cx: &Cx<'_>, change: &Change<'_, Self>) -> KindResult<()> {
        let rules = desired_rules(change.desired)?;
        apply::reconcile(cx.aws.ec2().await, change.current, &rules).await
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let id = live.id.as_str();
        delete_retrying(&[NOT_FOUND], || async move {
            let request = ec2.delete_security_group().group_id(id);
            aws_call("ec2:DeleteSecurityGroup", request.send()).await?;
            Ok(())
        })
        .await
    }
}

/// A name unique per blueprint, environment and address, and stable across runs: built
/// from innovate's identity tags, with what AWS does not allow in a name replaced by `_`.
fn default_group_name(tags: &Tags) -> KindResult<String> {
    let parts: Vec<&str> = IDENTITY_TAGS
        .iter()
        .filter_map(|key| tags.get(*key))
        .map(String::as_str)
        .collect();
    if parts.is_empty() {
        let message = "group_name is needed: there are no innovate identity tags to derive it from";
        return Err(KindError::local("ec2:CreateSecurityGroup", message));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c);
    let mut name: String = parts
        .join("-")
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    // AWS reserves names starting with "sg-".
    if name.to_ascii_lowercase().starts_with("sg-") {
        name.insert_str(0, "innovate-");
    }
    Ok(name.chars().take(255).collect())
}

async fn create_group(ec2: &Client, spec: &Spec, name: &str, tags: &Tags) -> KindResult<String> {
    let created = retry_while(
        &["InvalidVpcID.NotFound"],
        Backoff::CONSISTENCY,
        || async move {
            let request = ec2
                .create_security_group()
                .vpc_id(&spec.vpc_id)
                .group_name(name)
                .description(&spec.description)
                .set_tag_specifications(tags::specification(ResourceType::SecurityGroup, tags));
            aws_call("ec2:CreateSecurityGroup", request.send()).await
        },
    )
    .await;
    let created = match created {
        Err(err) if has_code(&err, &["InvalidGroup.Duplicate"]) => {
            return own_group_named(ec2, spec, name, tags).await?.ok_or(err);
        }
        other => other?,
    };
    let id = created
        .group_id()
        .ok_or_else(|| missing("ec2:CreateSecurityGroup", "GroupId"))?;
    Ok(id.to_string())
}

/// The group `name` in the VPC when it carries this instance's identity tags: made by an
/// earlier attempt of this same create whose answer was lost. Anyone else's group of that
/// name stays a conflict.
async fn own_group_named(
    ec2: &Client,
    spec: &Spec,
    name: &str,
    tags: &Tags,
) -> KindResult<Option<String>> {
    // By VPC only: the name (`app[0]`) would be read as a pattern by a group-name filter.
    let request = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", [spec.vpc_id.as_str()]));
    let found = aws_call(DESCRIBE, request.send()).await?;
    let own = found.security_groups().iter().find(|group| {
        group.group_name() == Some(name)
            && carries_all(&tags::to_map(group.tags()), &identity_tags(tags))
    });
    Ok(own.and_then(|group| group.group_id()).map(str::to_string))
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<SecurityGroup>> {
    describe_ids!(
        ec2,
        ids,
        describe_security_groups.set_group_ids,
        filters("group-id"),
        &[NOT_FOUND],
        DESCRIBE
    )
}

/// The blueprint's rules as permission entries, ingress and egress.
fn desired_rules(spec: &Spec) -> KindResult<[(Direction, Permissions); 2]> {
    Ok([
        (
            Direction::Ingress,
            expand(Direction::Ingress, &spec.ingress)?,
        ),
        (Direction::Egress, expand(Direction::Egress, &spec.egress)?),
    ])
}

fn to_live(aws: &AwsContext, group: &SecurityGroup) -> Option<Live> {
    let id = group.group_id()?.to_string();
    let owner = group.owner_id();
    let built = || owner.and_then(|owner| aws.arn("ec2", owner, &format!("security-group/{id}")));
    let outputs = outputs([
        (
            "arn",
            group
                .security_group_arn()
                .map(str::to_string)
                .or_else(built),
        ),
        ("owner_id", owner.map(str::to_string)),
    ]);
    Some(Live::observed(id, outputs, observed_attrs(group)))
}

/// Every blueprint attribute of a group but its tags (the layer adds those), as
/// DescribeSecurityGroups reports it, the rules folded as [`observed_rules`] says.
fn observed_attrs(group: &SecurityGroup) -> Attrs {
    observed([
        ("vpc_id", string_or_null(group.vpc_id())),
        ("group_name", string_or_null(group.group_name())),
        ("description", string_or_null(group.description())),
        ("ingress", observed_rules(&from_aws(group.ip_permissions()))),
        (
            "egress",
            observed_rules(&from_aws(group.ip_permissions_egress())),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::user_tags;
    use serde_json::{json, Value};

    #[test]
    fn observed_attrs_drop_identity_tags() {
        let group = SecurityGroup::builder()
            .group_id("sg-1")
            .vpc_id("vpc-1")
            .group_name("web")
            .description("Managed by innovate")
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("innovate:address")
                    .value("web")
                    .build(),
            )
            .build();
        assert_eq!(
            Value::Object(observed_attrs(&group)),
            json!({"vpc_id": "vpc-1", "group_name": "web", "description": "Managed by innovate",
                "ingress": [], "egress": []})
        );
        // The layer adds the `tags` attribute from what `tags` reports: the user's only.
        let carried = crate::kinds::AwsItem::tags(&group).unwrap();
        assert_eq!(carried.len(), 1);
        assert_eq!(user_tags(&carried), json!({}));
    }

    #[test]
    fn default_names_come_from_the_identity_tags() {
        let tags: Tags = [
            ("innovate:blueprint", "innovate"),
            ("innovate:env", "prod"),
            ("innovate:address", "app[\"http\"]"),
            ("Name", "ignored"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            default_group_name(&tags).unwrap(),
            "innovate-prod-app[_http_]"
        );
        let reserved: Tags = [("innovate:blueprint".to_string(), "sg-x".to_string())].into();
        assert_eq!(default_group_name(&reserved).unwrap(), "innovate-sg-x");
        assert!(default_group_name(&Tags::new()).is_err());
    }
}
