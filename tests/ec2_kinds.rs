//! The EC2 network kinds against the emulator, through the real SDK: every create, update
//! and delete is checked with the SDK directly, not only through the kind's own read.
//! Tests share one emulator, so each uses its own CIDRs, names and addresses.

mod common;

use aws_sdk_ec2::types::{Filter, IpPermission, Tag};
use aws_sdk_ec2::Client;
use common::emulator::sdk_config;
use common::kinds::{attrs, output, tags_for, KindDriver};
use innovate::kinds::{StepCx, Tags};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const BLUEPRINT: &str = "ec2-kinds";

struct Harness {
    kinds: KindDriver,
    ec2: Client,
}

/// The kinds' calls (`h.create(...)`, `h.read_one(...)`) come from the shared driver.
impl std::ops::Deref for Harness {
    type Target = KindDriver;
    fn deref(&self) -> &KindDriver {
        &self.kinds
    }
}

impl Harness {
    async fn new() -> Harness {
        let config = sdk_config().await;
        let ec2 = Client::new(&config);
        Harness {
            kinds: KindDriver::new(config, BLUEPRINT),
            ec2,
        }
    }
}

/// What the engine hands a kind at `address`: the blueprint's tags plus identity tags.
fn tags(address: &str, desired: &Value) -> Tags {
    tags_for(BLUEPRINT, address, desired)
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

const NO_VPC: &str = "vpc-0123456789abcdef0";

#[tokio::test]
async fn vpc_is_created_tagged_read_updated_and_deleted() {
    let h = Harness::new().await;
    let desired =
        json!({"cidr_block": "10.10.0.0/16", "tags": {"Name": "vpc-lifecycle", "Owner": "net"}});
    let vpc = h.create("ec2.vpc", "lifecycle", &desired).await;

    assert!(vpc.id.starts_with("vpc-"), "{}", vpc.id);
    let owner = output(&vpc, "owner_id");
    assert_eq!(
        output(&vpc, "arn"),
        format!("arn:aws:ec2:us-east-1:{owner}:vpc/{}", vpc.id)
    );
    let default_group = output(&vpc, "default_security_group_id");
    let groups = h
        .ec2
        .describe_security_groups()
        .group_ids(default_group)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups()[0].group_name(), Some("default"));
    assert_eq!(groups.security_groups()[0].vpc_id(), Some(vpc.id.as_str()));
    let main_table = output(&vpc, "main_route_table_id");
    let tables = h
        .ec2
        .describe_route_tables()
        .route_table_ids(main_table)
        .send()
        .await
        .unwrap();
    assert_eq!(tables.route_tables()[0].vpc_id(), Some(vpc.id.as_str()));

    // Tagged by CreateVpc itself, identity tags included.
    let described = h.ec2.describe_vpcs().vpc_ids(&vpc.id).send().await.unwrap();
    let described = &described.vpcs()[0];
    assert_eq!(described.cidr_block(), Some("10.10.0.0/16"));
    assert_eq!(tag_map(described.tags()), tags("lifecycle", &desired));

    // Refresh reads back what was created: no drift, the user's tags only.
    let read = h.assert_no_drift("ec2.vpc", &vpc.id, &desired).await;
    let observed = read.attrs.as_ref().unwrap();
    assert_eq!(observed["cidr_block"], "10.10.0.0/16");
    assert_eq!(
        observed["tags"],
        json!({"Name": "vpc-lifecycle", "Owner": "net"})
    );

    // One batch, in the order asked, with a gone id as None whichever position it has.
    assert_eq!(
        h.read("ec2.vpc", &[&vpc.id, NO_VPC]).await,
        vec![Some(vpc.clone()), None]
    );
    assert_eq!(
        h.read("ec2.vpc", &[NO_VPC, &vpc.id]).await,
        vec![None, Some(vpc.clone())]
    );

    let changed = json!({
        "cidr_block": "10.10.0.0/16", "enable_dns_hostnames": true,
        "tags": {"Name": "vpc-renamed", "Team": "platform"}
    });
    let updated = h
        .update("ec2.vpc", "lifecycle", &vpc, &desired, &changed)
        .await;
    assert_eq!(updated.id, vpc.id);
    assert!(dns_attribute(&h.ec2, &vpc.id, "enableDnsHostnames").await);
    assert!(dns_attribute(&h.ec2, &vpc.id, "enableDnsSupport").await);
    let described = h.ec2.describe_vpcs().vpc_ids(&vpc.id).send().await.unwrap();
    assert_eq!(
        tag_map(described.vpcs()[0].tags()),
        tags("lifecycle", &changed),
        "Owner removed, rest synced"
    );
    h.assert_no_drift("ec2.vpc", &vpc.id, &changed).await;

    // A tag changed outside innovate is drift in `tags`, and only there.
    h.ec2
        .create_tags()
        .resources(&vpc.id)
        .tags(Tag::builder().key("Team").value("someone-else").build())
        .send()
        .await
        .unwrap();
    let read = h.read_one("ec2.vpc", &vpc.id).await;
    assert_eq!(h.drift("ec2.vpc", &read, &changed), vec!["tags"]);
    assert_eq!(
        read.attrs.unwrap()["tags"],
        json!({"Name": "vpc-renamed", "Team": "someone-else"})
    );

    h.delete("ec2.vpc", &vpc, &changed).await;
    assert_eq!(h.read("ec2.vpc", &[&vpc.id]).await, vec![None]);
    // Deleting what is already gone succeeds.
    h.delete("ec2.vpc", &vpc, &changed).await;
}

#[tokio::test]
async fn vpc_dns_attributes_are_set_at_creation_when_not_default() {
    let h = Harness::new().await;
    let desired = json!({"cidr_block": "10.11.0.0/16", "enable_dns_support": false});
    let vpc = h.create("ec2.vpc", "no_dns", &desired).await;
    assert!(!dns_attribute(&h.ec2, &vpc.id, "enableDnsSupport").await);
    assert!(!dns_attribute(&h.ec2, &vpc.id, "enableDnsHostnames").await);

    let both = json!({"cidr_block": "10.11.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": true});
    h.update("ec2.vpc", "no_dns", &vpc, &desired, &both).await;
    assert!(dns_attribute(&h.ec2, &vpc.id, "enableDnsSupport").await);
    assert!(dns_attribute(&h.ec2, &vpc.id, "enableDnsHostnames").await);
    h.delete("ec2.vpc", &vpc, &both).await;
}

/// ModifyVpcTenancy goes one way only, dedicated to default; the plan replaces the VPC for
/// the other (`ec2.vpc`'s `dedicated_to_default`, tested with the schema).
#[tokio::test]
async fn vpc_tenancy_goes_from_dedicated_to_default_in_place() {
    let h = Harness::new().await;
    let dedicated = json!({"cidr_block": "10.12.0.0/16", "instance_tenancy": "dedicated"});
    let vpc = h.create("ec2.vpc", "tenancy", &dedicated).await;
    assert_eq!(tenancy(&h.ec2, &vpc.id).await, "dedicated");

    let default = json!({"cidr_block": "10.12.0.0/16", "instance_tenancy": "default"});
    let updated = h
        .update("ec2.vpc", "tenancy", &vpc, &dedicated, &default)
        .await;
    assert_eq!(updated.id, vpc.id, "the same VPC, changed in place");
    assert_eq!(tenancy(&h.ec2, &vpc.id).await, "default");
    h.assert_no_drift("ec2.vpc", &vpc.id, &default).await;
    h.delete("ec2.vpc", &vpc, &default).await;
}

async fn tenancy(ec2: &Client, vpc: &str) -> String {
    let described = ec2.describe_vpcs().vpc_ids(vpc).send().await.unwrap();
    let tenancy = described.vpcs()[0].instance_tenancy().expect("a tenancy");
    tenancy.as_str().to_string()
}

async fn dns_attribute(ec2: &Client, vpc: &str, name: &str) -> bool {
    let attribute = aws_sdk_ec2::types::VpcAttributeName::from(name);
    let answer = ec2
        .describe_vpc_attribute()
        .vpc_id(vpc)
        .attribute(attribute)
        .send()
        .await
        .unwrap();
    let value = match name {
        "enableDnsSupport" => answer.enable_dns_support(),
        _ => answer.enable_dns_hostnames(),
    };
    value.and_then(|v| v.value()).expect("attribute value")
}

#[tokio::test]
async fn subnet_and_internet_gateway_attach_move_and_detach() {
    let h = Harness::new().await;
    let vpc_spec = json!({"cidr_block": "10.20.0.0/16"});
    let vpc = h.create("ec2.vpc", "igw_vpc", &vpc_spec).await;
    let other_spec = json!({"cidr_block": "10.21.0.0/16"});
    let other = h.create("ec2.vpc", "igw_other", &other_spec).await;

    let subnet_spec = json!({
        "vpc_id": vpc.id, "cidr_block": "10.20.1.0/24", "availability_zone": "us-east-1b",
        "map_public_ip_on_launch": true, "tags": {"Tier": "public"}
    });
    let subnet = h.create("ec2.subnet", "public[0]", &subnet_spec).await;
    assert!(output(&subnet, "arn").ends_with(&format!(":subnet/{}", subnet.id)));
    let described = h
        .ec2
        .describe_subnets()
        .subnet_ids(&subnet.id)
        .send()
        .await
        .unwrap();
    let described = &described.subnets()[0];
    assert_eq!(described.availability_zone(), Some("us-east-1b"));
    assert_eq!(
        described.availability_zone_id(),
        Some(output(&subnet, "availability_zone_id"))
    );
    assert_eq!(described.map_public_ip_on_launch(), Some(true));
    assert_eq!(tag_map(described.tags()), tags("public[0]", &subnet_spec));
    h.assert_no_drift("ec2.subnet", &subnet.id, &subnet_spec)
        .await;

    // Public IPs turned off outside innovate: drift in map_public_ip_on_launch.
    h.ec2
        .modify_subnet_attribute()
        .subnet_id(&subnet.id)
        .map_public_ip_on_launch(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let read = h.read_one("ec2.subnet", &subnet.id).await;
    assert_eq!(
        h.drift("ec2.subnet", &read, &subnet_spec),
        vec!["map_public_ip_on_launch"]
    );
    assert_eq!(read.attrs.unwrap()["map_public_ip_on_launch"], false);

    // A subnet deleted outside innovate reads as gone, in the same batch as one that is not.
    let doomed = h
        .create(
            "ec2.subnet",
            "doomed",
            &json!({"vpc_id": vpc.id, "cidr_block": "10.20.9.0/24"}),
        )
        .await;
    h.ec2
        .delete_subnet()
        .subnet_id(&doomed.id)
        .send()
        .await
        .unwrap();
    let both = h.read("ec2.subnet", &[&doomed.id, &subnet.id]).await;
    assert!(both[0].is_none() && both[1].is_some(), "{both:?}");

    let private_spec = json!({"vpc_id": vpc.id, "cidr_block": "10.20.1.0/24", "map_public_ip_on_launch": false, "tags": {}});
    let updated = h
        .update(
            "ec2.subnet",
            "public[0]",
            &subnet,
            &subnet_spec,
            &private_spec,
        )
        .await;
    assert_eq!(updated.id, subnet.id);
    let described = h
        .ec2
        .describe_subnets()
        .subnet_ids(&subnet.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.subnets()[0].map_public_ip_on_launch(),
        Some(false)
    );
    assert!(!tag_map(described.subnets()[0].tags()).contains_key("Tier"));

    let gw_spec = json!({"vpc_id": vpc.id});
    let gw = h.create("ec2.internet_gateway", "gw", &gw_spec).await;
    assert!(gw.id.starts_with("igw-"), "{}", gw.id);
    assert_eq!(attached_vpcs(&h.ec2, &gw.id).await, vec![vpc.id.clone()]);
    assert!(output(&gw, "arn").ends_with(&format!(":internet-gateway/{}", gw.id)));
    h.assert_no_drift("ec2.internet_gateway", &gw.id, &gw_spec)
        .await;

    // Changing vpc_id moves the same gateway.
    let moved_spec = json!({"vpc_id": other.id});
    let moved = h
        .update("ec2.internet_gateway", "gw", &gw, &gw_spec, &moved_spec)
        .await;
    assert_eq!(moved.id, gw.id);
    assert_eq!(attached_vpcs(&h.ec2, &gw.id).await, vec![other.id.clone()]);
    // Moved back outside innovate: drift in vpc_id.
    h.ec2
        .detach_internet_gateway()
        .internet_gateway_id(&gw.id)
        .vpc_id(&other.id)
        .send()
        .await
        .unwrap();
    let read = h.read_one("ec2.internet_gateway", &gw.id).await;
    assert_eq!(
        h.drift("ec2.internet_gateway", &read, &moved_spec),
        vec!["vpc_id"]
    );
    assert_eq!(read.attrs.unwrap()["vpc_id"], Value::Null);
    let detached_spec = json!({});
    h.update(
        "ec2.internet_gateway",
        "gw",
        &gw,
        &moved_spec,
        &detached_spec,
    )
    .await;
    assert!(attached_vpcs(&h.ec2, &gw.id).await.is_empty());
    h.update("ec2.internet_gateway", "gw", &gw, &detached_spec, &gw_spec)
        .await;

    // Delete detaches first (the emulator, like AWS, refuses to delete an attached gateway).
    h.delete("ec2.internet_gateway", &gw, &gw_spec).await;
    let left = h
        .ec2
        .describe_internet_gateways()
        .filters(filter("internet-gateway-id", &gw.id))
        .send()
        .await
        .unwrap();
    assert!(left.internet_gateways().is_empty());
    assert_eq!(h.read("ec2.internet_gateway", &[&gw.id]).await, vec![None]);

    h.delete("ec2.subnet", &subnet, &private_spec).await;
    assert_eq!(h.read("ec2.subnet", &[&subnet.id]).await, vec![None]);
    h.delete("ec2.vpc", &vpc, &vpc_spec).await;
    h.delete("ec2.vpc", &other, &other_spec).await;
}

async fn attached_vpcs(ec2: &Client, gateway: &str) -> Vec<String> {
    let described = ec2
        .describe_internet_gateways()
        .internet_gateway_ids(gateway)
        .send()
        .await
        .unwrap();
    let attachments = described.internet_gateways()[0].attachments();
    attachments
        .iter()
        .filter_map(|a| a.vpc_id().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn route_table_routes_and_associations_change_in_place() {
    let h = Harness::new().await;
    let vpc_spec = json!({"cidr_block": "10.30.0.0/16"});
    let vpc = h.create("ec2.vpc", "rt_vpc", &vpc_spec).await;
    let subnet_a = h
        .create(
            "ec2.subnet",
            "rt_a",
            &json!({"vpc_id": vpc.id, "cidr_block": "10.30.1.0/24"}),
        )
        .await;
    let subnet_b = h
        .create(
            "ec2.subnet",
            "rt_b",
            &json!({"vpc_id": vpc.id, "cidr_block": "10.30.2.0/24"}),
        )
        .await;
    let gw = h
        .create("ec2.internet_gateway", "rt_gw", &json!({"vpc_id": vpc.id}))
        .await;
    let ip = h.create("ec2.elastic_ip", "rt_ip", &json!({})).await;
    let nat_spec = json!({"subnet_id": subnet_a.id, "allocation_id": ip.id});
    let nat = h.create("ec2.nat_gateway", "rt_nat", &nat_spec).await;

    let first = json!({
        "vpc_id": vpc.id,
        "routes": [{"destination_cidr_block": "0.0.0.0/0", "gateway_id": gw.id}],
        "subnet_ids": [subnet_a.id],
    });
    let table = h.create("ec2.route_table", "public_routes", &first).await;
    assert!(table.id.starts_with("rtb-"), "{}", table.id);
    let (routes, subnets) = route_table(&h.ec2, &table.id).await;
    assert_eq!(
        routes,
        vec![
            format!("0.0.0.0/0 -> {}", gw.id),
            "10.30.0.0/16 -> local".to_string()
        ]
    );
    assert_eq!(subnets, vec![subnet_a.id.clone()]);
    h.assert_no_drift("ec2.route_table", &table.id, &first)
        .await;

    // A route added outside innovate: drift in routes, the new route among them.
    h.ec2
        .create_route()
        .route_table_id(&table.id)
        .destination_cidr_block("10.99.0.0/16")
        .gateway_id(&gw.id)
        .send()
        .await
        .unwrap();
    let read = h.read_one("ec2.route_table", &table.id).await;
    assert_eq!(h.drift("ec2.route_table", &read, &first), vec!["routes"]);
    assert_eq!(
        read.attrs.unwrap()["routes"],
        json!([
            {"destination_cidr_block": "0.0.0.0/0", "gateway_id": gw.id},
            {"destination_cidr_block": "10.99.0.0/16", "gateway_id": gw.id},
        ])
    );

    let second = json!({
        "vpc_id": vpc.id,
        "routes": [
            {"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id},
            {"destination_cidr_block": "10.50.0.0/16", "gateway_id": gw.id},
        ],
        "subnet_ids": [subnet_b.id],
    });
    let updated = h
        .update("ec2.route_table", "public_routes", &table, &first, &second)
        .await;
    assert_eq!(updated.id, table.id);
    let (routes, subnets) = route_table(&h.ec2, &table.id).await;
    assert_eq!(
        routes,
        vec![
            format!("0.0.0.0/0 -> {}", nat.id),
            "10.30.0.0/16 -> local".to_string(),
            format!("10.50.0.0/16 -> {}", gw.id),
        ]
    );
    assert_eq!(subnets, vec![subnet_b.id.clone()]);
    h.assert_no_drift("ec2.route_table", &table.id, &second)
        .await;

    let empty = json!({"vpc_id": vpc.id, "routes": [], "subnet_ids": []});
    h.update("ec2.route_table", "public_routes", &table, &second, &empty)
        .await;
    let (routes, subnets) = route_table(&h.ec2, &table.id).await;
    assert_eq!(routes, vec!["10.30.0.0/16 -> local".to_string()]);
    assert!(subnets.is_empty());

    // Delete disassociates first; AWS refuses to delete a table with associations.
    let both = json!({"vpc_id": vpc.id, "subnet_ids": [subnet_a.id, subnet_b.id]});
    h.update("ec2.route_table", "public_routes", &table, &empty, &both)
        .await;
    assert_eq!(route_table(&h.ec2, &table.id).await.1.len(), 2);
    h.delete("ec2.route_table", &table, &both).await;
    let left = h
        .ec2
        .describe_route_tables()
        .filters(filter("route-table-id", &table.id))
        .send()
        .await
        .unwrap();
    assert!(left.route_tables().is_empty());
    assert_eq!(h.read("ec2.route_table", &[&table.id]).await, vec![None]);

    h.delete("ec2.nat_gateway", &nat, &nat_spec).await;
    h.delete("ec2.elastic_ip", &ip, &json!({})).await;
    h.delete("ec2.internet_gateway", &gw, &json!({"vpc_id": vpc.id}))
        .await;
    h.delete("ec2.subnet", &subnet_a, &json!({})).await;
    h.delete("ec2.subnet", &subnet_b, &json!({})).await;
    h.delete("ec2.vpc", &vpc, &vpc_spec).await;
}

/// ("DESTINATION -> TARGET" sorted, associated subnets sorted) as AWS reports them.
async fn route_table(ec2: &Client, id: &str) -> (Vec<String>, Vec<String>) {
    let described = ec2
        .describe_route_tables()
        .route_table_ids(id)
        .send()
        .await
        .unwrap();
    let table = &described.route_tables()[0];
    let mut routes: Vec<String> = table
        .routes()
        .iter()
        .map(|r| {
            let target = r.nat_gateway_id().or(r.gateway_id()).unwrap_or("?");
            format!("{} -> {target}", r.destination_cidr_block().unwrap_or("?"))
        })
        .collect();
    routes.sort();
    let mut subnets: Vec<String> = table
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id().map(str::to_string))
        .collect();
    subnets.sort();
    (routes, subnets)
}

#[tokio::test]
async fn security_group_rules_are_reconciled_in_place() {
    let h = Harness::new().await;
    let vpc_spec = json!({"cidr_block": "10.40.0.0/16"});
    let vpc = h.create("ec2.vpc", "sg_vpc", &vpc_spec).await;

    // No egress in the blueprint keeps AWS's default allow-all egress.
    let lb_spec =
        json!({"vpc_id": vpc.id, "group_name": "ec2-kinds-lb", "description": "load balancer"});
    let lb = h.create("ec2.security_group", "lb", &lb_spec).await;
    let (ingress, egress) = rules(&h.ec2, &lb.id).await;
    assert!(ingress.is_empty(), "{ingress:?}");
    assert_eq!(egress, vec!["-1 0.0.0.0/0".to_string()]);
    let group = describe_group(&h.ec2, &lb.id).await;
    assert_eq!(group.group_name(), Some("ec2-kinds-lb"));
    assert_eq!(group.description(), Some("load balancer"));
    assert_eq!(tag_map(group.tags()), tags("lb", &lb_spec));
    h.assert_no_drift("ec2.security_group", &lb.id, &lb_spec)
        .await;

    let web_spec = json!({
        "vpc_id": vpc.id,
        "ingress": [
            {"protocol": "tcp", "from_port": 443, "to_port": 443,
             "cidr_blocks": ["0.0.0.0/0", "10.0.0.0/8"], "description": "https"},
            {"protocol": "tcp", "from_port": 8080, "to_port": 8080, "security_groups": [lb.id]},
        ],
        "egress": [{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}],
    });
    let web = h.create("ec2.security_group", "web", &web_spec).await;
    let group = describe_group(&h.ec2, &web.id).await;
    assert_eq!(
        group.group_name(),
        Some("ec2-kinds-test-web"),
        "named after the identity tags"
    );
    assert_eq!(group.description(), Some("Managed by innovate"));
    assert_eq!(
        output(&web, "arn"),
        format!(
            "arn:aws:ec2:us-east-1:{}:security-group/{}",
            output(&web, "owner_id"),
            web.id
        )
    );
    let (ingress, egress) = rules(&h.ec2, &web.id).await;
    assert_eq!(
        ingress,
        vec![
            "tcp 443-443 0.0.0.0/0 (https)".to_string(),
            "tcp 443-443 10.0.0.0/8 (https)".to_string(),
            format!("tcp 8080-8080 {}", lb.id),
        ]
    );
    assert_eq!(
        egress,
        vec!["tcp 443-443 0.0.0.0/0".to_string()],
        "the default egress was revoked"
    );
    // The rules read back in the blueprint's shape: a rule with two CIDR blocks is one rule.
    let read = h
        .assert_no_drift("ec2.security_group", &web.id, &web_spec)
        .await;
    assert_eq!(read.attrs.as_ref().unwrap()["ingress"], web_spec["ingress"]);

    // An ingress rule added outside innovate: drift in ingress, the new rule among them.
    h.ec2
        .authorize_security_group_ingress()
        .group_id(&web.id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("203.0.113.0/24")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let read = h.read_one("ec2.security_group", &web.id).await;
    assert_eq!(
        h.drift("ec2.security_group", &read, &web_spec),
        vec!["ingress"]
    );
    let ingress = read.attrs.unwrap()["ingress"].clone();
    assert_eq!(ingress.as_array().unwrap().len(), 3, "{ingress}");
    assert_eq!(
        ingress[0],
        json!({"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["203.0.113.0/24"]})
    );

    let web_changed = json!({
        "vpc_id": vpc.id,
        "ingress": [
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"], "description": "tls"},
            {"protocol": "tcp", "from_port": 8080, "to_port": 8080, "security_groups": [lb.id]},
            {"protocol": "udp", "from_port": 53, "to_port": 53, "cidr_blocks": ["10.40.0.0/16"]},
        ],
        "tags": {"Name": "web"},
    });
    let updated = h
        .update("ec2.security_group", "web", &web, &web_spec, &web_changed)
        .await;
    assert_eq!(updated.id, web.id);
    let (ingress, egress) = rules(&h.ec2, &web.id).await;
    assert_eq!(
        ingress,
        vec![
            "tcp 443-443 0.0.0.0/0 (tls)".to_string(),
            format!("tcp 8080-8080 {}", lb.id),
            "udp 53-53 10.40.0.0/16".to_string(),
        ]
    );
    assert_eq!(
        egress,
        vec!["-1 0.0.0.0/0".to_string()],
        "egress left out means AWS's default again"
    );
    h.assert_no_drift("ec2.security_group", &web.id, &web_changed)
        .await;
    assert_eq!(
        tag_map(describe_group(&h.ec2, &web.id).await.tags()),
        tags("web", &web_changed)
    );

    h.delete("ec2.security_group", &web, &web_changed).await;
    h.delete("ec2.security_group", &lb, &lb_spec).await;
    assert_eq!(
        h.read("ec2.security_group", &[&web.id, &lb.id]).await,
        vec![None, None]
    );
    h.delete("ec2.vpc", &vpc, &vpc_spec).await;
}

/// DeleteSecurityGroup answers InvalidGroup.InUse while a network interface or another
/// group's rule still uses the group (on AWS, an EKS or load balancer interface released
/// minutes later); innovate sends it again. A proxy refuses the first two deletes so.
#[tokio::test]
async fn a_security_group_still_in_use_is_deleted_once_released() {
    use common::rewriting_proxy::{self, take, Response};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    let h = Harness::new().await;
    let vpc = h
        .create(
            "ec2.vpc",
            "in_use_vpc",
            &json!({"cidr_block": "10.13.0.0/16"}),
        )
        .await;
    let spec = json!({"vpc_id": vpc.id, "group_name": "in-use", "description": "in use"});
    let group = h.create("ec2.security_group", "in_use", &spec).await;

    let refusals = Arc::new(AtomicU32::new(2));
    let left = refusals.clone();
    let message = format!(
        "There are active network interfaces using security group {}",
        group.id
    );
    let endpoint = rewriting_proxy::start(common::emulator::endpoint(), move |request, forward| {
        if request.form_action() != "DeleteSecurityGroup" || !take(&left) {
            return forward();
        }
        let body = format!(
            "<Response><Errors><Error><Code>InvalidGroup.InUse</Code><Message>{message}</Message>\
             </Error></Errors><RequestID>in-use</RequestID></Response>"
        );
        Response::client_error("text/xml", &body)
    });
    let through = KindDriver::through(&endpoint, BLUEPRINT).await;
    through.delete("ec2.security_group", &group, &spec).await;

    assert_eq!(
        refusals.load(Ordering::SeqCst),
        0,
        "refused twice, then sent again"
    );
    assert_eq!(h.read("ec2.security_group", &[&group.id]).await, vec![None]);
    h.delete("ec2.vpc", &vpc, &json!({"cidr_block": "10.13.0.0/16"}))
        .await;
}

async fn describe_group(ec2: &Client, id: &str) -> aws_sdk_ec2::types::SecurityGroup {
    let described = ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .unwrap();
    described.security_groups()[0].clone()
}

/// Ingress and egress entries, "PROTOCOL FROM-TO PEER (DESCRIPTION)" sorted.
async fn rules(ec2: &Client, id: &str) -> (Vec<String>, Vec<String>) {
    let group = describe_group(ec2, id).await;
    (
        entries(group.ip_permissions()),
        entries(group.ip_permissions_egress()),
    )
}

fn entries(permissions: &[IpPermission]) -> Vec<String> {
    let mut entries = Vec::new();
    for p in permissions {
        let protocol = p.ip_protocol().unwrap_or("?");
        let ports = match (protocol, p.from_port(), p.to_port()) {
            ("-1", _, _) => String::new(),
            (_, from, to) => format!(" {}-{}", from.unwrap_or(-1), to.unwrap_or(-1)),
        };
        let described = |text: Option<&str>| {
            text.filter(|t| !t.is_empty())
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        };
        for range in p.ip_ranges() {
            entries.push(format!(
                "{protocol}{ports} {}{}",
                range.cidr_ip().unwrap_or("?"),
                described(range.description())
            ));
        }
        for pair in p.user_id_group_pairs() {
            entries.push(format!(
                "{protocol}{ports} {}{}",
                pair.group_id().unwrap_or("?"),
                described(pair.description())
            ));
        }
    }
    entries.sort();
    entries
}

#[tokio::test]
async fn elastic_ip_and_nat_gateway_are_created_and_deleted() {
    let h = Harness::new().await;
    let vpc_spec = json!({"cidr_block": "10.60.0.0/16"});
    let vpc = h.create("ec2.vpc", "nat_vpc", &vpc_spec).await;
    let subnet = h
        .create(
            "ec2.subnet",
            "nat_public",
            &json!({"vpc_id": vpc.id, "cidr_block": "10.60.1.0/24"}),
        )
        .await;
    let gw = h
        .create("ec2.internet_gateway", "nat_gw", &json!({"vpc_id": vpc.id}))
        .await;

    let ip_spec = json!({"tags": {"Name": "nat-ip"}});
    let ip = h.create("ec2.elastic_ip", "ip", &ip_spec).await;
    assert!(ip.id.starts_with("eipalloc-"), "{}", ip.id);
    let public_ip = output(&ip, "public_ip").to_string();
    let addresses = h
        .ec2
        .describe_addresses()
        .allocation_ids(&ip.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        addresses.addresses()[0].public_ip(),
        Some(public_ip.as_str())
    );
    assert_eq!(
        tag_map(addresses.addresses()[0].tags()),
        tags("ip", &ip_spec)
    );
    let read = h.assert_no_drift("ec2.elastic_ip", &ip.id, &ip_spec).await;
    assert_eq!(read, ip, "create reports what a read reports");

    // A public NAT gateway without an address is refused before calling AWS.
    let cx = StepCx::silent("nat");
    let refused = h
        .kind("ec2.nat_gateway")
        .create(&cx, &attrs(&json!({"subnet_id": subnet.id})), &Tags::new())
        .await;
    let err = refused.unwrap_err();
    assert_eq!(err.code, None);
    assert!(err.message.contains("allocation_id"), "{err}");
    let in_subnet = h
        .ec2
        .describe_nat_gateways()
        .filter(filter("subnet-id", &subnet.id))
        .send()
        .await
        .unwrap();
    assert!(in_subnet.nat_gateways().is_empty());

    let nat_spec = json!({"subnet_id": subnet.id, "allocation_id": ip.id, "tags": {"Name": "nat"}});
    let nat = h.create("ec2.nat_gateway", "nat", &nat_spec).await;
    assert!(nat.id.starts_with("nat-"), "{}", nat.id);
    assert_eq!(output(&nat, "public_ip"), public_ip);
    assert!(
        output(&nat, "network_interface_id").starts_with("eni-"),
        "{:?}",
        nat.outputs
    );
    let described = h
        .ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat.id)
        .send()
        .await
        .unwrap();
    let described = &described.nat_gateways()[0];
    // The emulator picks the private address outside the subnet; AWS takes it from the subnet.
    let address = &described.nat_gateway_addresses()[0];
    assert_eq!(address.private_ip(), Some(output(&nat, "private_ip")));
    assert_eq!(address.allocation_id(), Some(ip.id.as_str()));
    assert_eq!(described.state().map(|s| s.as_str()), Some("available"));
    assert_eq!(described.subnet_id(), Some(subnet.id.as_str()));
    assert_eq!(tag_map(described.tags()), tags("nat", &nat_spec));
    h.assert_no_drift("ec2.nat_gateway", &nat.id, &nat_spec)
        .await;

    let retagged =
        json!({"subnet_id": subnet.id, "allocation_id": ip.id, "tags": {"Name": "nat-a"}});
    let updated = h
        .update("ec2.nat_gateway", "nat", &nat, &nat_spec, &retagged)
        .await;
    assert_eq!((&updated.id, &updated.outputs), (&nat.id, &nat.outputs));
    let described = h
        .ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&nat.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tag_map(described.nat_gateways()[0].tags()),
        tags("nat", &retagged)
    );

    assert_eq!(
        h.read("ec2.nat_gateway", &[&nat.id, "nat-0123456789abcdef0"])
            .await,
        vec![Some(updated.clone()), None],
        "the update reports the tags it set"
    );
    h.assert_no_drift("ec2.nat_gateway", &nat.id, &retagged)
        .await;
    h.delete("ec2.nat_gateway", &nat, &retagged).await;
    // AWS keeps a deleted gateway visible for a while; innovate reads it as gone.
    assert_eq!(h.read("ec2.nat_gateway", &[&nat.id]).await, vec![None]);

    h.delete("ec2.elastic_ip", &ip, &ip_spec).await;
    let left = h
        .ec2
        .describe_addresses()
        .filters(filter("allocation-id", &ip.id))
        .send()
        .await
        .unwrap();
    assert!(left.addresses().is_empty());
    assert_eq!(h.read("ec2.elastic_ip", &[&ip.id]).await, vec![None]);
    h.delete("ec2.elastic_ip", &ip, &ip_spec).await;

    h.delete("ec2.internet_gateway", &gw, &json!({"vpc_id": vpc.id}))
        .await;
    h.delete("ec2.subnet", &subnet, &json!({})).await;
    h.delete("ec2.vpc", &vpc, &vpc_spec).await;
}

/// innovate's identity tags of `address` in `env`, as `list_tagged` is asked for them.
fn identity(env: &str, address: &str) -> Tags {
    [
        ("innovate:blueprint", "ec2-kinds"),
        ("innovate:env", env),
        ("innovate:address", address),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test]
async fn list_tagged_finds_exactly_what_carries_the_identity_tags() {
    let h = Harness::new().await;
    // Two VPCs told apart by their environment tag only.
    let listed_spec = json!({"cidr_block": "10.70.0.0/16", "tags": {"Name": "listed"}});
    let listed = h.create("ec2.vpc", "listed_vpc", &listed_spec).await;
    let other_tags = identity("other-env", "listed_vpc");
    let cx = StepCx::silent("listed_vpc");
    let other = h
        .kind("ec2.vpc")
        .create(
            &cx,
            &attrs(&json!({"cidr_block": "10.71.0.0/16"})),
            &other_tags,
        )
        .await
        .unwrap();

    let found = h
        .kind("ec2.vpc")
        .list_tagged(&identity("test", "listed_vpc"))
        .await
        .unwrap()
        .expect("VPCs can be listed by tag");
    assert_eq!(found, vec![h.read_one("ec2.vpc", &listed.id).await]);
    let found = h.kind("ec2.vpc").list_tagged(&other_tags).await.unwrap();
    assert_eq!(
        found.unwrap().iter().map(|l| &l.id).collect::<Vec<_>>(),
        vec![&other.id]
    );
    let nothing = h
        .kind("ec2.vpc")
        .list_tagged(&identity("test", "no-such-address"))
        .await
        .unwrap();
    assert_eq!(nothing, Some(vec![]));

    // Every other EC2 kind: the one resource with its address, nothing for another env.
    let subnet = h
        .create(
            "ec2.subnet",
            "listed_subnet",
            &json!({"vpc_id": listed.id, "cidr_block": "10.70.1.0/24"}),
        )
        .await;
    let gw_spec = json!({"vpc_id": listed.id});
    let gw = h
        .create("ec2.internet_gateway", "listed_gw", &gw_spec)
        .await;
    let table_spec = json!({"vpc_id": listed.id, "routes": [
        {"destination_cidr_block": "0.0.0.0/0", "gateway_id": gw.id}]});
    let table = h
        .create("ec2.route_table", "listed_routes", &table_spec)
        .await;
    let group_spec = json!({"vpc_id": listed.id});
    let group = h
        .create("ec2.security_group", "listed_group", &group_spec)
        .await;
    let ip = h.create("ec2.elastic_ip", "listed_ip", &json!({})).await;
    let nat_spec = json!({"subnet_id": subnet.id, "allocation_id": ip.id});
    let nat = h.create("ec2.nat_gateway", "listed_nat", &nat_spec).await;
    let made = [
        ("ec2.subnet", "listed_subnet", &subnet),
        ("ec2.internet_gateway", "listed_gw", &gw),
        ("ec2.route_table", "listed_routes", &table),
        ("ec2.security_group", "listed_group", &group),
        ("ec2.elastic_ip", "listed_ip", &ip),
        ("ec2.nat_gateway", "listed_nat", &nat),
    ];
    for (kind, address, live) in made {
        let found = h.kind(kind).list_tagged(&identity("test", address)).await;
        let found = found
            .unwrap_or_else(|err| panic!("{kind}: {err}"))
            .unwrap_or_else(|| panic!("{kind} can be listed by tag"));
        let ids: Vec<&String> = found.iter().map(|l| &l.id).collect();
        assert_eq!(ids, vec![&live.id], "{kind}");
        assert!(found[0].attrs.is_some(), "{kind} lists with attrs");
        let elsewhere = h
            .kind(kind)
            .list_tagged(&identity("other-env", address))
            .await
            .unwrap();
        assert_eq!(elsewhere, Some(vec![]), "{kind}");
    }

    // A deleted NAT gateway stays visible in AWS for a while; it is not listed.
    h.delete("ec2.nat_gateway", &nat, &nat_spec).await;
    let after = h
        .kind("ec2.nat_gateway")
        .list_tagged(&identity("test", "listed_nat"))
        .await
        .unwrap();
    assert_eq!(after, Some(vec![]));

    h.delete("ec2.elastic_ip", &ip, &json!({})).await;
    h.delete("ec2.security_group", &group, &group_spec).await;
    h.delete("ec2.route_table", &table, &table_spec).await;
    h.delete("ec2.internet_gateway", &gw, &gw_spec).await;
    h.delete("ec2.subnet", &subnet, &json!({})).await;
    h.delete("ec2.vpc", &listed, &listed_spec).await;
    h.delete("ec2.vpc", &other, &json!({})).await;
}
