//! `ec2.flow_log`: a VPC, subnet or network interface's flow log, delivered to CloudWatch
//! Logs (with a role AWS assumes) or S3. AWS changes nothing of a flow log but its tags:
//! every attribute forces a new one. CreateFlowLogs and DeleteFlowLogs answer many
//! failures as `Unsuccessful` items of a successful call; they are errors here, with AWS's
//! code and message.

use super::{missing, observed, outputs, string_or_null, tags};
use crate::aws::{aws_call, sdk_error, AwsContext, Backoff, Cx};
use crate::kinds::{
    retry_when, AttrType, Attrs, AwsKind, KindError, KindResult, Live, Schema, Tags, Tier,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    FlowLog, FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType, UnsuccessfulItem,
};
use aws_sdk_ec2::Client;
use serde_json::Value;

const CLOUDWATCH: &str = "cloud-watch-logs";

crate::spec! {
    pub(super) struct Spec with tags {
        /// The VPC, subnet or network interface whose traffic is logged.
        resource_id: String = required(AttrType::String).force_new(),
        resource_type: String = optional(AttrType::String)
            .default("\"VPC\"")
            .force_new()
            .one_of(&["VPC", "Subnet", "NetworkInterface"]),
        traffic_type: String = optional(AttrType::String)
            .default("\"ALL\"")
            .force_new()
            .one_of(&["ACCEPT", "REJECT", "ALL"]),
        log_destination_type: String = optional(AttrType::String)
            .default("\"cloud-watch-logs\"")
            .force_new()
            .one_of(&[CLOUDWATCH, "s3"]),
        /// The log group, by name (or give its ARN as `log_destination`).
        log_group_name: Option<String> = optional(AttrType::String).force_new(),
        /// The log group's or the S3 bucket's ARN.
        log_destination: Option<String> = optional(AttrType::String).force_new(),
        /// The role AWS assumes to write to CloudWatch Logs.
        deliver_logs_permission_arn: Option<String> = optional(AttrType::String).force_new(),
        /// 60 or 600 seconds (the range is what `validate` checks offline).
        max_aggregation_interval: i64 = optional(AttrType::Int)
            .default("600")
            .force_new()
            .range(60, 600),
    }
}

const SCHEMA: Schema =
    Schema::new("ec2.flow_log", Tier::Observability, Spec::ATTRS).outputs(&["log_destination"]);

const NOT_FOUND: &str = "InvalidFlowLogId.NotFound";
const DESCRIBE: &str = "ec2:DescribeFlowLogs";
const CREATE: &str = "ec2:CreateFlowLogs";

ec2_item!(FlowLog, DESCRIBE, &[NOT_FOUND], described by describe,
    listed by describe_flow_logs.filter);

pub(super) struct FlowLogKind;

#[async_trait]
impl AwsKind for FlowLogKind {
    type Spec = Spec;
    type Item = FlowLog;
    const SCHEMA: &'static Schema = &SCHEMA;

    /// A role created moments ago is not assumable by vpc-flow-logs.amazonaws.com until
    /// IAM has propagated it: AWS refuses with "Unable to assume given IAM role" (as a call
    /// error or an Unsuccessful item), which terraform-provider-aws retries too. Each
    /// attempt has its own client token: AWS would answer a reused one's refusal again.
    async fn create(&self, cx: &Cx<'_>, spec: &Spec, tags: &Tags) -> KindResult<String> {
        check(spec)?;
        let ec2 = cx.aws.ec2().await;
        let role_not_ready = |err: &KindError| err.message.contains("Unable to assume given IAM");
        let created = retry_when(role_not_ready, Backoff::CONSISTENCY, || async {
            let request = ec2
                .create_flow_logs()
                .client_token(uuid::Uuid::new_v4().to_string())
                .resource_ids(&spec.resource_id)
                .resource_type(FlowLogsResourceType::from(spec.resource_type.as_str()))
                .traffic_type(TrafficType::from(spec.traffic_type.as_str()))
                .log_destination_type(LogDestinationType::from(spec.log_destination_type.as_str()))
                .set_log_group_name(spec.log_group_name.clone())
                .set_log_destination(spec.log_destination.clone())
                .set_deliver_logs_permission_arn(spec.deliver_logs_permission_arn.clone())
                .max_aggregation_interval(spec.max_aggregation_interval as i32)
                .set_tag_specifications(tags::specification(ResourceType::VpcFlowLog, tags));
            let answer = aws_call(CREATE, request.send()).await?;
            succeeded(CREATE, answer.unsuccessful())?;
            Ok(answer)
        })
        .await?;
        let id = created.flow_log_ids().first();
        id.cloned().ok_or_else(|| missing(CREATE, "FlowLogIds"))
    }

    /// A retried create whose first answer was lost meets the flow log it made; the layer
    /// finds it by its identity tags and adopts it only when it carries this create's.
    fn conflict_codes(&self) -> &'static [&'static str] {
        &["FlowLogAlreadyExists"]
    }

    fn live(&self, _: &AwsContext, flow_log: &FlowLog) -> Option<Live> {
        to_live(flow_log)
    }

    /// Only the tags change in place, and the layer syncs those. A flow log already gone
    /// (InvalidFlowLogId.NotFound, as a call error or an Unsuccessful item) is counted as
    /// deleted by the layer once a read confirms it.
    async fn delete(&self, cx: &Cx<'_>, live: &Live, _prior: &Attrs) -> KindResult<()> {
        let ec2 = cx.aws.ec2().await;
        let call = "ec2:DeleteFlowLogs";
        let answer = ec2.delete_flow_logs().flow_log_ids(&live.id).send().await;
        let answer = answer.map_err(|e| sdk_error(call, e))?;
        succeeded(call, answer.unsuccessful())
    }
}

async fn describe(ec2: &Client, ids: &[String]) -> KindResult<Vec<FlowLog>> {
    describe_ids!(
        ec2,
        ids,
        describe_flow_logs.set_flow_log_ids,
        filter("flow-log-id"),
        &[NOT_FOUND],
        DESCRIBE
    )
}

/// What AWS would refuse, refused before any call: where the logs go, and the interval.
fn check(spec: &Spec) -> KindResult<()> {
    let local = |message: &str| Err(KindError::local(CREATE, message));
    if ![60, 600].contains(&spec.max_aggregation_interval) {
        return local("max_aggregation_interval must be 60 or 600");
    }
    let named = resource_type(&spec.resource_id);
    if named.is_some_and(|named| named != spec.resource_type) {
        let id = &spec.resource_id;
        return local(&format!(
            "{id} is not a {}: set resource_type",
            spec.resource_type
        ));
    }
    let to_group = spec.log_group_name.is_some() || spec.log_destination.is_some();
    match spec.log_destination_type.as_str() {
        CLOUDWATCH if spec.log_group_name.is_some() && spec.log_destination.is_some() => {
            local("give log_group_name or log_destination, not both")
        }
        CLOUDWATCH if !to_group => {
            local("cloud-watch-logs needs log_group_name or log_destination")
        }
        CLOUDWATCH if spec.deliver_logs_permission_arn.is_none() => {
            local("cloud-watch-logs needs deliver_logs_permission_arn (the role AWS assumes)")
        }
        "s3" if spec.log_destination.is_none() => local("s3 needs log_destination (a bucket ARN)"),
        _ => Ok(()),
    }
}

/// The first Unsuccessful item of an answer as an error with AWS's code and message.
fn succeeded(call: &str, unsuccessful: &[UnsuccessfulItem]) -> KindResult<()> {
    let Some(item) = unsuccessful.first() else {
        return Ok(());
    };
    let error = item.error();
    let code = error.and_then(|e| e.code()).map(str::to_string);
    let message = error.and_then(|e| e.message()).unwrap_or("no reason given");
    let resource = item.resource_id().unwrap_or("?");
    Err(KindError::new(call, code, format!("{resource}: {message}")))
}

/// What a flow log's resource id says its type is (DescribeFlowLogs does not report it).
fn resource_type(resource_id: &str) -> Option<&'static str> {
    let types = [
        ("vpc-", "VPC"),
        ("subnet-", "Subnet"),
        ("eni-", "NetworkInterface"),
    ];
    let found = types
        .into_iter()
        .find(|(prefix, _)| resource_id.starts_with(prefix));
    found.map(|(_, name)| name)
}

fn to_live(flow_log: &FlowLog) -> Option<Live> {
    let id = flow_log.flow_log_id()?.to_string();
    let resource = flow_log.resource_id().unwrap_or_default();
    let destination = flow_log.log_destination().map(str::to_string);
    let outputs = outputs([("log_destination", destination)]);
    let attrs = observed([
        ("resource_id", resource.into()),
        (
            "resource_type",
            resource_type(resource).map_or(Value::Null, Value::from),
        ),
        (
            "traffic_type",
            string_or_null(flow_log.traffic_type().map(|t| t.as_str())),
        ),
        (
            "log_destination_type",
            string_or_null(flow_log.log_destination_type().map(|t| t.as_str())),
        ),
        ("log_group_name", string_or_null(flow_log.log_group_name())),
        (
            "log_destination",
            string_or_null(flow_log.log_destination()),
        ),
        (
            "deliver_logs_permission_arn",
            string_or_null(flow_log.deliver_logs_permission_arn()),
        ),
        (
            "max_aggregation_interval",
            flow_log.max_aggregation_interval().into(),
        ),
    ]);
    Some(Live::observed(id, outputs, attrs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::parse_spec;
    use aws_sdk_ec2::types::UnsuccessfulItemError;
    use serde_json::json;

    fn spec(attrs: Value) -> Spec {
        parse_spec(&SCHEMA, attrs.as_object().unwrap()).unwrap()
    }

    #[test]
    fn an_unsuccessful_item_is_an_error_with_aws_code_and_message() {
        assert_eq!(succeeded(CREATE, &[]), Ok(()));
        let error = UnsuccessfulItemError::builder()
            .code("InvalidParameter")
            .message("Unable to assume given IAM role.")
            .build();
        let item = UnsuccessfulItem::builder()
            .resource_id("vpc-1")
            .error(error)
            .build();
        let err = succeeded(CREATE, &[item]).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidParameter"));
        assert_eq!(err.message, "vpc-1: Unable to assume given IAM role.");
    }

    #[test]
    fn where_the_logs_go_is_checked_before_any_call() {
        let role = "arn:aws:iam::111122223333:role/flow";
        let to_group = json!({"resource_id": "vpc-1", "log_group_name": "/vpc",
            "deliver_logs_permission_arn": role});
        assert_eq!(check(&spec(to_group.clone())), Ok(()));
        let mut no_role = to_group.clone();
        no_role["deliver_logs_permission_arn"] = Value::Null;
        assert!(check(&spec(no_role)).is_err());
        let mut both = to_group.clone();
        both["log_destination"] = json!("arn:aws:logs:us-east-1:111122223333:log-group:/vpc");
        assert!(check(&spec(both)).is_err());
        let mut odd = to_group;
        odd["max_aggregation_interval"] = json!(300);
        assert!(check(&spec(odd)).is_err());
        let mut subnet = json!({"resource_id": "subnet-1", "log_destination_type": "s3",
            "log_destination": "arn:aws:s3:::flow-logs"});
        assert!(
            check(&spec(subnet.clone())).is_err(),
            "resource_type VPC by default"
        );
        subnet["resource_type"] = json!("Subnet");
        assert_eq!(check(&spec(subnet)), Ok(()));
        let bucketless = json!({"resource_id": "vpc-1", "log_destination_type": "s3"});
        assert!(check(&spec(bucketless)).is_err());
    }

    #[test]
    fn the_resource_type_comes_from_the_id() {
        assert_eq!(resource_type("vpc-0a1"), Some("VPC"));
        assert_eq!(resource_type("subnet-0a1"), Some("Subnet"));
        assert_eq!(resource_type("eni-0a1"), Some("NetworkInterface"));
        assert_eq!(resource_type("tgw-0a1"), None);
    }
}
