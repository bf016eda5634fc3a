//! `ec2.network_acl` and `ec2.vpc_endpoint` against the emulator, through the real SDK:
//! every create, update and delete is checked with the SDK directly. What moto does not do
//! as AWS does (a NACL not visible yet to its entry calls, an interface endpoint `pending`
//! for a minute, a delete refused per item) is answered by a scripted proxy with AWS's own
//! codes and messages. Tests share one emulator, so each uses its own CIDRs and addresses.

mod common;

use aws_sdk_ec2::types::{NetworkAcl, RuleAction, VpcEndpoint};
use aws_sdk_ec2::Client;
use common::emulator::sdk_config;
use common::kinds::{tags_for, KindDriver};
use common::rewriting_proxy::{self, take, Response};
use innovate::kinds::{identity_tags, Live};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const BLUEPRINT: &str = "nacl-endpoint-kinds";

struct Harness {
    kinds: KindDriver,
    ec2: Client,
}

impl std::ops::Deref for Harness {
    type Target = KindDriver;
    fn deref(&self) -> &KindDriver {
        &self.kinds
    }
}

impl Harness {
    async fn new() -> Harness {
        let config = sdk_config().await;
        Harness {
            ec2: Client::new(&config),
            kinds: KindDriver::new(config, BLUEPRINT),
        }
    }

    /// A VPC at `cidr` with one subnet per given CIDR.
    async fn network(&self, name: &str, cidr: &str, subnets: &[&str]) -> (Live, Vec<Live>) {
        let vpc = self
            .create("ec2.vpc", name, &json!({"cidr_block": cidr}))
            .await;
        let mut made = Vec::new();
        for (i, subnet) in subnets.iter().enumerate() {
            let spec = json!({"vpc_id": vpc.id, "cidr_block": subnet});
            made.push(
                self.create("ec2.subnet", &format!("{name}_{i}"), &spec)
                    .await,
            );
        }
        (vpc, made)
    }

    async fn tear_down(&self, vpc: &Live, subnets: &[Live]) {
        for subnet in subnets {
            let prior = json!({"vpc_id": vpc.id});
            self.delete("ec2.subnet", subnet, &prior).await;
        }
        self.delete("ec2.vpc", vpc, &json!({})).await;
    }

    async fn acl(&self, id: &str) -> Option<NetworkAcl> {
        let found = self
            .ec2
            .describe_network_acls()
            .network_acl_ids(id)
            .send()
            .await;
        found.ok().and_then(|f| f.network_acls().first().cloned())
    }

    /// The id of the NACL guarding `subnet`.
    async fn guard_of(&self, subnet: &str) -> String {
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name("association.subnet-id")
            .values(subnet)
            .build();
        let found = self
            .ec2
            .describe_network_acls()
            .filters(filter)
            .send()
            .await;
        let found = found.unwrap();
        let acl = found
            .network_acls()
            .first()
            .expect("every subnet has a NACL");
        acl.network_acl_id().unwrap().to_string()
    }

    async fn endpoint(&self, id: &str) -> VpcEndpoint {
        let found = self
            .ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await;
        found.unwrap().vpc_endpoints()[0].clone()
    }
}

/// "ingress|egress NUMBER PROTOCOL ACTION CIDR" of the NACL's own entries, sorted.
fn entries(acl: &NetworkAcl) -> Vec<String> {
    let mut listed: Vec<String> = acl
        .entries()
        .iter()
        .filter(|e| e.rule_number() != Some(32767))
        .map(|e| {
            let way = if e.egress() == Some(true) {
                "egress"
            } else {
                "ingress"
            };
            let ports = e.port_range().map_or(String::new(), |p| {
                format!(" {}-{}", p.from().unwrap_or(-1), p.to().unwrap_or(-1))
            });
            let action = e.rule_action().map(RuleAction::as_str).unwrap_or("?");
            let (number, protocol) = (e.rule_number().unwrap(), e.protocol().unwrap());
            format!(
                "{way} {number} {protocol}{ports} {action} {}",
                e.cidr_block().unwrap()
            )
        })
        .collect();
    listed.sort();
    listed
}

fn entry(number: i32, protocol: &str, cidr: &str, ports: Option<(i32, i32)>) -> Value {
    let mut entry = json!({"rule_number": number, "protocol": protocol, "action": "allow",
        "cidr_block": cidr});
    if let Some((from, to)) = ports {
        entry["from_port"] = from.into();
        entry["to_port"] = to.into();
    }
    entry
}

/// An EC2 query-protocol refusal, as AWS sends it.
fn ec2_refusal(code: &str, message: &str) -> Response {
    let body = format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>\
         </Errors><RequestID>scripted</RequestID></Response>"
    );
    Response::client_error("text/xml", &body)
}

#[tokio::test]
async fn a_nacl_takes_its_subnets_from_the_default_and_gives_them_back_on_delete() {
    let h = Harness::new().await;
    let (vpc, subnets) = h
        .network("acl", "10.41.0.0/16", &["10.41.1.0/24", "10.41.2.0/24"])
        .await;
    let default = h.guard_of(&subnets[0].id).await;
    let spec = json!({"vpc_id": vpc.id, "subnet_ids": [subnets[0].id],
        "ingress": [entry(100, "-1", "10.41.0.0/16", None),
                    entry(110, "tcp", "0.0.0.0/0", Some((1024, 65535)))],
        "egress": [entry(100, "-1", "0.0.0.0/0", None)],
        "tags": {"Tier": "private"}});
    let acl = h.create("ec2.network_acl", "acl", &spec).await;
    assert_eq!(h.guard_of(&subnets[0].id).await, acl.id);
    assert_eq!(h.guard_of(&subnets[1].id).await, default, "left alone");
    let held = h.acl(&acl.id).await.unwrap();
    assert_eq!(
        entries(&held),
        [
            "egress 100 -1 allow 0.0.0.0/0",
            "ingress 100 -1 allow 10.41.0.0/16",
            "ingress 110 6 1024-65535 allow 0.0.0.0/0",
        ]
    );
    assert!(held.tags().iter().any(|t| t.key() == Some("Tier")));
    h.assert_no_drift("ec2.network_acl", &acl.id, &spec).await;

    // One entry changed, one removed, one added; the subnets swap.
    let changed = json!({"vpc_id": vpc.id, "subnet_ids": [subnets[1].id],
        "ingress": [entry(100, "-1", "10.40.0.0/14", None),
                    entry(120, "udp", "0.0.0.0/0", Some((1024, 65535)))],
        "egress": [entry(100, "-1", "0.0.0.0/0", None)],
        "tags": {"Tier": "private"}});
    let updated = h
        .update("ec2.network_acl", "acl", &acl, &spec, &changed)
        .await;
    assert_eq!(updated.id, acl.id, "changed in place");
    assert_eq!(
        entries(&h.acl(&acl.id).await.unwrap()),
        [
            "egress 100 -1 allow 0.0.0.0/0",
            "ingress 100 -1 allow 10.40.0.0/14",
            "ingress 120 17 1024-65535 allow 0.0.0.0/0",
        ]
    );
    assert_eq!(h.guard_of(&subnets[0].id).await, default, "given back");
    assert_eq!(h.guard_of(&subnets[1].id).await, acl.id);
    h.assert_no_drift("ec2.network_acl", &acl.id, &changed)
        .await;

    h.delete("ec2.network_acl", &updated, &changed).await;
    assert!(h.acl(&acl.id).await.is_none(), "deleted");
    assert_eq!(
        h.guard_of(&subnets[1].id).await,
        default,
        "back on the default"
    );
    h.tear_down(&vpc, &subnets).await;
}

/// A subnet held by another non-default NACL may be someone else's: innovate refuses to
/// take it, names both, and moves nothing.
#[tokio::test]
async fn a_subnet_held_by_another_nacl_is_refused_and_left_there() {
    let h = Harness::new().await;
    let (vpc, subnets) = h.network("held", "10.42.0.0/16", &["10.42.1.0/24"]).await;
    let theirs = h
        .ec2
        .create_network_acl()
        .vpc_id(&vpc.id)
        .send()
        .await
        .unwrap();
    let theirs = theirs
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string();
    let association = {
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name("association.subnet-id")
            .values(&subnets[0].id)
            .build();
        let found = h
            .ec2
            .describe_network_acls()
            .filters(filter)
            .send()
            .await
            .unwrap();
        let acl = &found.network_acls()[0];
        let a = acl
            .associations()
            .iter()
            .find(|a| a.subnet_id() == Some(&subnets[0].id));
        a.unwrap().network_acl_association_id().unwrap().to_string()
    };
    let moved = h
        .ec2
        .replace_network_acl_association()
        .association_id(association);
    moved.network_acl_id(&theirs).send().await.unwrap();

    let spec = json!({"vpc_id": vpc.id, "subnet_ids": [subnets[0].id]});
    let err = h
        .try_create("ec2.network_acl", "grabbing", &spec)
        .await
        .unwrap_err();
    assert!(
        err.message.contains(&theirs) && err.message.contains("someone else"),
        "{err}"
    );
    assert_eq!(h.guard_of(&subnets[0].id).await, theirs, "still theirs");

    // The NACL the failed create made is found by its identity tags and removed.
    let identity = identity_tags(&tags_for(BLUEPRINT, "grabbing", &json!({})));
    let kind = h.kind("ec2.network_acl");
    let orphans = kind.list_tagged(&identity).await.unwrap().unwrap();
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    h.delete("ec2.network_acl", &orphans[0], &spec).await;
    h.ec2
        .delete_network_acl()
        .network_acl_id(&theirs)
        .send()
        .await
        .ok();
    h.tear_down(&vpc, &subnets).await;
}

/// An entry added behind innovate's back shows as drift of `ingress`; a NACL made outside
/// innovate reads back in the blueprint's spelling (import).
#[tokio::test]
async fn an_entry_added_outside_shows_as_drift_and_a_foreign_nacl_imports() {
    let h = Harness::new().await;
    let (vpc, subnets) = h.network("drift", "10.43.0.0/16", &[]).await;
    let spec = json!({"vpc_id": vpc.id, "ingress": [entry(100, "-1", "10.43.0.0/16", None)]});
    let acl = h.create("ec2.network_acl", "drifting", &spec).await;
    let added = h
        .ec2
        .create_network_acl_entry()
        .network_acl_id(&acl.id)
        .egress(false);
    let added = added
        .rule_number(200)
        .protocol("6")
        .rule_action(RuleAction::Allow);
    let range = aws_sdk_ec2::types::PortRange::builder()
        .from(22)
        .to(22)
        .build();
    added
        .cidr_block("0.0.0.0/0")
        .port_range(range)
        .send()
        .await
        .unwrap();
    let live = h.read_one("ec2.network_acl", &acl.id).await;
    assert_eq!(h.drift("ec2.network_acl", &live, &spec), ["ingress"]);
    let imported = &live.attrs.as_ref().unwrap()["ingress"];
    assert!(imported
        .as_array()
        .unwrap()
        .contains(&entry(200, "tcp", "0.0.0.0/0", Some((22, 22)))));
    h.delete("ec2.network_acl", &acl, &spec).await;
    h.tear_down(&vpc, &subnets).await;
}

/// The VPC forces a new NACL; a NACL just created may answer InvalidNetworkAclID.NotFound
/// to its first entry call on AWS: the entry is sent again.
#[tokio::test]
async fn a_new_nacl_not_visible_to_its_entry_calls_is_retried_and_a_vpc_change_replaces() {
    let schema = KindDriver::new(sdk_config().await, BLUEPRINT)
        .kind("ec2.network_acl")
        .schema();
    let vpc_id = schema.attr("vpc_id").unwrap();
    assert!(vpc_id.replaces(Some(&json!("vpc-a")), Some(&json!("vpc-b"))));
    assert!(!schema.attr("ingress").unwrap().force_new);

    let h = Harness::new().await;
    let (vpc, subnets) = h.network("fresh", "10.44.0.0/16", &[]).await;
    let due = Arc::new(AtomicU32::new(2));
    let left = due.clone();
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.form_action() == "CreateNetworkAclEntry" && take(&left) {
            return ec2_refusal(
                "InvalidNetworkAclID.NotFound",
                "The networkAcl ID 'acl-x' does not exist",
            );
        }
        forward()
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    let spec = json!({"vpc_id": vpc.id, "egress": [entry(100, "-1", "0.0.0.0/0", None)]});
    let acl = through.create("ec2.network_acl", "fresh", &spec).await;
    assert_eq!(
        due.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    assert_eq!(
        entries(&h.acl(&acl.id).await.unwrap()),
        ["egress 100 -1 allow 0.0.0.0/0"]
    );
    h.delete("ec2.network_acl", &acl, &spec).await;
    h.tear_down(&vpc, &subnets).await;
}

#[tokio::test]
async fn a_gateway_endpoint_moves_between_route_tables_and_changes_its_policy_in_place() {
    let h = Harness::new().await;
    let (vpc, subnets) = h.network("gateway", "10.45.0.0/16", &[]).await;
    let table = |name: &str| json!({"vpc_id": vpc.id, "tags": {"Name": name}});
    let first = h.create("ec2.route_table", "gw_a", &table("a")).await;
    let second = h.create("ec2.route_table", "gw_b", &table("b")).await;
    let service = "com.amazonaws.us-east-1.s3";
    let spec = json!({"vpc_id": vpc.id, "service_name": service, "route_table_ids": [first.id]});
    let endpoint = h.create("ec2.vpc_endpoint", "s3", &spec).await;
    let held = h.endpoint(&endpoint.id).await;
    assert_eq!(held.route_table_ids(), std::slice::from_ref(&first.id));
    assert_eq!(held.vpc_endpoint_type().unwrap().as_str(), "Gateway");
    h.assert_no_drift("ec2.vpc_endpoint", &endpoint.id, &spec)
        .await;

    let read_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]});
    let changed = json!({"vpc_id": vpc.id, "service_name": service,
        "route_table_ids": [second.id], "policy": read_only});
    let updated = h
        .update("ec2.vpc_endpoint", "s3", &endpoint, &spec, &changed)
        .await;
    assert_eq!(updated.id, endpoint.id, "changed in place");
    let held = h.endpoint(&endpoint.id).await;
    assert_eq!(held.route_table_ids(), std::slice::from_ref(&second.id));
    let policy: Value = serde_json::from_str(held.policy_document().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Action"], "s3:GetObject");
    h.assert_no_drift("ec2.vpc_endpoint", &endpoint.id, &changed)
        .await;

    // A route table added outside innovate is drift.
    let modify = h.ec2.modify_vpc_endpoint().vpc_endpoint_id(&endpoint.id);
    modify.add_route_table_ids(&first.id).send().await.unwrap();
    let live = h.read_one("ec2.vpc_endpoint", &endpoint.id).await;
    assert_eq!(
        h.drift("ec2.vpc_endpoint", &live, &changed),
        ["route_table_ids"]
    );
    // Applying the blueprint again sets it back.
    let restored = h
        .update("ec2.vpc_endpoint", "s3", &live, &changed, &changed)
        .await;
    assert_eq!(
        h.endpoint(&endpoint.id).await.route_table_ids(),
        std::slice::from_ref(&second.id)
    );

    h.delete("ec2.vpc_endpoint", &restored, &changed).await;
    assert_eq!(
        h.read("ec2.vpc_endpoint", &[&endpoint.id]).await,
        vec![None]
    );
    for t in [&first, &second] {
        h.delete("ec2.route_table", t, &json!({"vpc_id": vpc.id}))
            .await;
    }
    h.tear_down(&vpc, &subnets).await;
}

/// An interface endpoint is `pending` on AWS while it places its interfaces: the create
/// waits for `available`. Its subnets and groups change in place; its service replaces it.
#[tokio::test]
async fn an_interface_endpoint_is_waited_for_and_changes_subnets_in_place() {
    let h = Harness::new().await;
    let (vpc, subnets) = h
        .network("iface", "10.46.0.0/16", &["10.46.1.0/24", "10.46.2.0/24"])
        .await;
    let group_spec =
        json!({"vpc_id": vpc.id, "group_name": format!("endpoints-{}", std::process::id())});
    let group = h
        .create("ec2.security_group", "iface_sg", &group_spec)
        .await;
    let pending = Arc::new(AtomicU32::new(2));
    let left = pending.clone();
    let proxy = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let mut answer = forward();
        if request.form_action() == "DescribeVpcEndpoints" && take(&left) {
            answer.body = answer
                .body
                .replace("<state>available</state>", "<state>pending</state>");
        }
        answer
    });
    let through = KindDriver::through(&proxy, BLUEPRINT)
        .await
        .recording_phases();
    let service = "com.amazonaws.us-east-1.sts";
    let spec = json!({"vpc_id": vpc.id, "service_name": service,
        "vpc_endpoint_type": "Interface", "subnet_ids": [subnets[0].id],
        "security_group_ids": [group.id], "private_dns_enabled": true});
    let endpoint = through.create("ec2.vpc_endpoint", "sts", &spec).await;
    assert_eq!(pending.load(Ordering::SeqCst), 0, "seen pending twice");
    assert!(
        through
            .phases()
            .iter()
            .any(|p| p.starts_with("waiting for available")),
        "{:?}",
        through.phases()
    );
    h.assert_no_drift("ec2.vpc_endpoint", &endpoint.id, &spec)
        .await;

    let both = json!({"vpc_id": vpc.id, "service_name": service,
        "vpc_endpoint_type": "Interface", "subnet_ids": [subnets[0].id, subnets[1].id],
        "security_group_ids": [group.id], "private_dns_enabled": true});
    h.update("ec2.vpc_endpoint", "sts", &endpoint, &spec, &both)
        .await;
    let mut held: Vec<String> = h.endpoint(&endpoint.id).await.subnet_ids().to_vec();
    held.sort();
    let mut want = vec![subnets[0].id.clone(), subnets[1].id.clone()];
    want.sort();
    assert_eq!(held, want);

    let schema = h.kind("ec2.vpc_endpoint").schema();
    assert!(schema.attr("service_name").unwrap().replaces(
        Some(&json!(service)),
        Some(&json!("com.amazonaws.us-east-1.logs"))
    ));
    assert!(!schema.attr("subnet_ids").unwrap().force_new);
    h.delete("ec2.vpc_endpoint", &endpoint, &both).await;
    h.delete("ec2.security_group", &group, &group_spec).await;
    h.tear_down(&vpc, &subnets).await;
}

/// DeleteVpcEndpoints answers 200 and lists a refused endpoint under `unsuccessful`: the
/// delete fails with AWS's code and message instead of counting as done.
#[tokio::test]
async fn an_endpoint_delete_refused_per_item_is_an_error_with_aws_reason() {
    let h = Harness::new().await;
    let (vpc, subnets) = h.network("refused", "10.47.0.0/16", &[]).await;
    let spec = json!({"vpc_id": vpc.id, "service_name": "com.amazonaws.us-east-1.dynamodb"});
    let endpoint = h.create("ec2.vpc_endpoint", "refused", &spec).await;
    let id = endpoint.id.clone();
    let proxy = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.form_action() != "DeleteVpcEndpoints" {
            return forward();
        }
        let body = format!(
            "<DeleteVpcEndpointsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>scripted</requestId><unsuccessful><item><error>\
             <code>InvalidVpcEndpoint.NotOwned</code><message>You do not own {id}</message>\
             </error><resourceId>{id}</resourceId></item></unsuccessful></DeleteVpcEndpointsResponse>"
        );
        Response {
            status: "HTTP/1.1 200 OK".into(),
            content_type: "text/xml".into(),
            error_type: None,
            body,
        }
    });
    let through = KindDriver::through(&proxy, BLUEPRINT).await;
    let err = through
        .try_delete("ec2.vpc_endpoint", &endpoint, &spec)
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidVpcEndpoint.NotOwned"));
    assert!(err.message.contains("You do not own"), "{err}");
    assert!(
        h.read("ec2.vpc_endpoint", &[&endpoint.id]).await[0].is_some(),
        "still there"
    );
    h.delete("ec2.vpc_endpoint", &endpoint, &spec).await;
    h.tear_down(&vpc, &subnets).await;
}

/// An entry call whose answer is lost: AWS made the entry, the SDK sends the call again and
/// AWS answers NetworkAclEntryAlreadyExists. The entry in innovate's own NACL is set to what
/// the blueprint says, and the create goes on.
#[tokio::test]
async fn a_lost_entry_answer_is_settled_in_the_nacls_own_entry() {
    let h = Harness::new().await;
    let (vpc, subnets) = h.network("lost", "10.48.0.0/16", &[]).await;
    let lost = Arc::new(AtomicU32::new(1));
    let replaced = Arc::new(AtomicU32::new(0));
    let (left, replacing) = (lost.clone(), replaced.clone());
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        let answer = forward();
        if request.form_action() == "ReplaceNetworkAclEntry" {
            replacing.fetch_add(1, Ordering::SeqCst);
        }
        if request.form_action() != "CreateNetworkAclEntry" || !take(&left) {
            return answer;
        }
        let body = "<Response><Errors><Error><Code>InternalError</Code><Message>We encountered \
                    an internal error. Please try again.</Message></Error></Errors>\
                    <RequestID>lost</RequestID></Response>";
        Response {
            status: "HTTP/1.1 500 Internal Server Error".into(),
            ..ec2_refusal("InternalError", body)
        }
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    let spec =
        json!({"vpc_id": vpc.id, "ingress": [entry(100, "tcp", "10.48.0.0/16", Some((443, 443)))]});
    let acl = through.create("ec2.network_acl", "lost", &spec).await;
    assert_eq!(lost.load(Ordering::SeqCst), 0, "the first answer was lost");
    assert_eq!(
        replaced.load(Ordering::SeqCst),
        1,
        "AlreadyExists settled by a replace"
    );
    assert_eq!(
        entries(&h.acl(&acl.id).await.unwrap()),
        ["ingress 100 6 443-443 allow 10.48.0.0/16"]
    );
    h.assert_no_drift("ec2.network_acl", &acl.id, &spec).await;
    h.delete("ec2.network_acl", &acl, &spec).await;
    h.tear_down(&vpc, &subnets).await;
}

/// A NACL and a gateway endpoint made with the SDK, outside innovate, read back in the
/// blueprint's spelling (what `innovate import` records): entries by name, ports only where
/// the protocol has them, AWS's catch-all left out, the default endpoint policy as none.
#[tokio::test]
async fn a_nacl_and_an_endpoint_made_elsewhere_import_in_the_blueprints_form() {
    let h = Harness::new().await;
    let (vpc, subnets) = h.network("imported", "10.49.0.0/16", &[]).await;
    let made = h
        .ec2
        .create_network_acl()
        .vpc_id(&vpc.id)
        .send()
        .await
        .unwrap();
    let acl_id = made
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string();
    let range = aws_sdk_ec2::types::PortRange::builder()
        .from(5432)
        .to(5432)
        .build();
    let entry_call = h
        .ec2
        .create_network_acl_entry()
        .network_acl_id(&acl_id)
        .egress(false);
    let entry_call = entry_call
        .rule_number(100)
        .protocol("6")
        .rule_action(RuleAction::Allow);
    entry_call
        .cidr_block("10.49.1.0/24")
        .port_range(range)
        .send()
        .await
        .unwrap();
    let acl = h.read_one("ec2.network_acl", &acl_id).await;
    let attrs = acl.attrs.as_ref().unwrap();
    assert_eq!(attrs["vpc_id"], json!(vpc.id));
    assert_eq!(
        attrs["ingress"],
        json!([entry(100, "tcp", "10.49.1.0/24", Some((5432, 5432)))])
    );
    assert_eq!(attrs["egress"], json!([]));

    let table = h
        .create("ec2.route_table", "imported_rt", &json!({"vpc_id": vpc.id}))
        .await;
    let made = h.ec2.create_vpc_endpoint().vpc_id(&vpc.id);
    let made = made
        .service_name("com.amazonaws.us-east-1.s3")
        .route_table_ids(&table.id)
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway);
    let made = made.send().await.unwrap();
    let endpoint_id = made
        .vpc_endpoint()
        .unwrap()
        .vpc_endpoint_id()
        .unwrap()
        .to_string();
    let endpoint = h.read_one("ec2.vpc_endpoint", &endpoint_id).await;
    let attrs = endpoint.attrs.as_ref().unwrap();
    assert_eq!(attrs["vpc_endpoint_type"], "Gateway");
    assert_eq!(attrs["route_table_ids"], json!([table.id]));
    assert_eq!(
        attrs["policy"],
        Value::Null,
        "AWS's default policy reads as none"
    );
    assert_eq!(attrs["private_dns_enabled"], false);

    h.delete("ec2.vpc_endpoint", &endpoint, &json!({})).await;
    h.delete("ec2.network_acl", &acl, &json!({})).await;
    h.delete("ec2.route_table", &table, &json!({"vpc_id": vpc.id}))
        .await;
    h.tear_down(&vpc, &subnets).await;
}
