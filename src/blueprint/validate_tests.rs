//! `innovate validate` offline: the rules AWS puts on values (enums, ranges, numbers of
//! items), the bound on instances per resource, and files that are empty, missing or not
//! UTF-8. Every error located at file:line:col with a hint.
//!
//! The kinds here are test-only copies of the real ones, carrying the rules this file needs,
//! so the tests do not wait on the annotations of `src/aws`. Once the real kinds carry the
//! same rules (ec2.security_group rules' ports, rds.db_instance `allocated_storage`,
//! eks.nodegroup `capacity_type` and `subnet_ids`), `registry()` may become
//! `crate::aws::registry(AwsContext::new(None))` and every test must still pass.

use super::*;
use crate::kinds::{
    Attr, AttrType, Attrs, KindError, KindResult, Live, Price, ResourceKind, Schema, StepCx, Tags,
    Tier,
};
use async_trait::async_trait;
use std::sync::Arc;

static RULE: [Attr; 4] = [
    Attr::required("protocol", AttrType::String),
    Attr::optional("from_port", AttrType::Int).range(-1, 65535),
    Attr::optional("to_port", AttrType::Int).range(-1, 65535),
    Attr::optional("cidr_blocks", AttrType::List(&AttrType::Cidr)),
];
static RULES: AttrType = AttrType::List(&AttrType::Object(&RULE));

static VPC: Schema = Schema {
    name: "ec2.vpc",
    attrs: &[Attr::required("cidr_block", AttrType::Cidr)],
    outputs: &[],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};
static SECURITY_GROUP: Schema = Schema {
    name: "ec2.security_group",
    attrs: &[
        Attr::required("vpc_id", AttrType::String),
        Attr::optional("ingress", RULES),
        Attr::optional("egress", RULES),
    ],
    outputs: &[],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};
static DB_INSTANCE: Schema = Schema {
    name: "rds.db_instance",
    attrs: &[Attr::optional("allocated_storage", AttrType::Int).range(20, 65536)],
    outputs: &[],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};
static NODEGROUP: Schema = Schema {
    name: "eks.nodegroup",
    attrs: &[
        Attr::required("cluster_name", AttrType::String),
        Attr::optional("capacity_type", AttrType::String).one_of(&[
            "ON_DEMAND",
            "SPOT",
            "CAPACITY_BLOCK",
        ]),
        Attr::optional("subnet_ids", AttrType::List(&AttrType::String)).items(1, 16),
    ],
    outputs: &[],
    taggable: true,
    tier: Tier::Network,
    price: Price::Free,
};

/// A kind that only has a schema: validation never calls AWS.
struct SchemaOnly(&'static Schema);

#[async_trait]
impl ResourceKind for SchemaOnly {
    fn schema(&self) -> &'static Schema {
        self.0
    }

    async fn create(&self, _: &StepCx, _: &Attrs, _: &Tags) -> KindResult<Live> {
        Err(KindError::local("test", "validation only"))
    }

    async fn read_many(&self, _: &[String]) -> KindResult<Vec<Option<Live>>> {
        Err(KindError::local("test", "validation only"))
    }

    async fn update(
        &self,
        _: &StepCx,
        _: &Live,
        _: &Attrs,
        _: &Attrs,
        _: &Tags,
    ) -> KindResult<Live> {
        Err(KindError::local("test", "validation only"))
    }

    async fn delete(&self, _: &StepCx, _: &Live, _: &Attrs) -> KindResult<()> {
        Err(KindError::local("test", "validation only"))
    }
}

fn registry() -> Registry {
    let mut registry = Registry::default();
    for schema in [&VPC, &SECURITY_GROUP, &DB_INSTANCE, &NODEGROUP] {
        registry.register(Arc::new(SchemaOnly(schema)));
    }
    registry
}

type Found = (usize, usize, String, Option<String>);

/// Every error of `text`, sorted by position: (line, col, message, hint).
fn errors(text: &str) -> Vec<Found> {
    let err = parse("bp.yaml", text, &LoadOptions::default(), &registry())
        .expect_err("the blueprint should be rejected");
    let mut found: Vec<Found> = err
        .diagnostics
        .into_iter()
        .map(|d| (d.pos.line, d.pos.col, d.message, d.hint))
        .collect();
    found.sort_by_key(|(line, col, _, _)| (*line, *col));
    found
}

fn accepts(text: &str) -> Blueprint {
    parse("bp.yaml", text, &LoadOptions::default(), &registry())
        .unwrap_or_else(|e| panic!("the blueprint should be accepted:\n{}", e.render()))
}

fn found(line: usize, col: usize, message: &str, hint: &str) -> Found {
    (line, col, message.into(), Some(hint.into()))
}

const OUT_OF_RULE: &str = "blueprint: rules
resources:
  main: { kind: ec2.vpc, cidr_block: 10.0.0.0/16 }
  web:
    kind: ec2.security_group
    vpc_id: ${main.id}
    ingress:
      - protocol: tcp
        from_port: 70000
        to_port: 443
  db:
    kind: rds.db_instance
    allocated_storage: 0
  nodes:
    kind: eks.nodegroup
    cluster_name: main
    capacity_type: SPOTT
";

#[test]
fn values_against_the_rules_of_aws_are_all_reported_located_with_a_hint() {
    assert_eq!(
        errors(OUT_OF_RULE),
        [
            found(9, 20, "70000 is out of range", "must be from -1 to 65535"),
            found(13, 24, "0 is out of range", "must be from 20 to 65536"),
            found(
                17,
                20,
                "`SPOTT` is not one of the allowed values",
                "did you mean `SPOT`? (allowed: ON_DEMAND, SPOT, CAPACITY_BLOCK)"
            ),
        ]
    );
}

#[test]
fn the_rendered_error_points_at_the_value() {
    let err = parse("bp.yaml", OUT_OF_RULE, &LoadOptions::default(), &registry()).unwrap_err();
    let shown = err.render();
    assert!(
        shown.contains("error: 70000 is out of range\n  --> bp.yaml:9:20\n"),
        "{shown}"
    );
    assert!(shown.ends_with("3 errors in bp.yaml"), "{shown}");
}

#[test]
fn values_at_the_bounds_and_in_the_list_pass() {
    let ok = OUT_OF_RULE
        .replace("70000", "65535")
        .replace("allocated_storage: 0", "allocated_storage: 20")
        .replace("SPOTT", "SPOT");
    let bp = accepts(&ok);
    assert_eq!(bp.instances.len(), 4);
}

#[test]
fn values_known_only_after_apply_are_not_checked_but_variables_are() {
    let text = "blueprint: refs
variables: { storage: 10 }
resources:
  first: { kind: rds.db_instance, allocated_storage: 100 }
  copy: { kind: rds.db_instance, allocated_storage: \"${first.allocated_storage}\" }
  small: { kind: rds.db_instance, allocated_storage: \"${var.storage}\" }
";
    assert_eq!(
        errors(text),
        [found(
            6,
            54,
            "10 is out of range",
            "must be from 20 to 65536"
        )],
        "the reference of `copy` is left to AWS"
    );
}

#[test]
fn a_rule_on_the_number_of_items_counts_known_items_only() {
    let text = "blueprint: items
resources:
  none: { kind: eks.nodegroup, cluster_name: c, subnet_ids: [] }
  two: { kind: eks.nodegroup, cluster_name: c, subnet_ids: [a, \"${none.id}\"] }
  spliced: { kind: eks.nodegroup, cluster_name: c, subnet_ids: \"${two[*].id}\" }
";
    assert_eq!(
        errors(text),
        [found(
            3,
            61,
            "the list has 0 items",
            "must have 1 to 16 items"
        )],
        "a reference is one item; the length of a `[*]` is known after apply"
    );
}

#[test]
fn count_and_for_each_are_bounded() {
    let over = "blueprint: many
resources:
  main: { kind: ec2.vpc, count: 1001, cidr_block: 10.0.0.0/16 }
";
    let hint =
        "split it into several resources of up to 1000 instances, or check the number for a slip";
    assert_eq!(
        errors(over),
        [found(
            3,
            33,
            "`count` makes 1001 instances; a resource has at most 1000",
            hint
        )]
    );
    let names: Vec<String> = (0..1001).map(|i| format!("n{i}")).collect();
    let each = format!(
        "blueprint: many\nvariables: {{ names: [{}] }}\nresources:\n  main: {{ kind: ec2.vpc, for_each: \"${{var.names}}\", cidr_block: 10.0.0.0/16 }}\n",
        names.join(", ")
    );
    let found = errors(&each);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (4, 36));
    assert_eq!(
        found[0].2,
        "`for_each` makes 1001 instances; a resource has at most 1000"
    );
    let at_the_bound = over.replace("1001", "1000");
    assert_eq!(accepts(&at_the_bound).instances.len(), 1000);
}

#[test]
fn an_empty_blueprint_is_one_clear_error() {
    for text in ["", "\n\n", "# nothing yet\n"] {
        let found = errors(text);
        assert_eq!(found.len(), 1, "{text:?}: {found:?}");
        assert_eq!((found[0].0, found[0].1), (1, 1));
        assert_eq!(
            found[0].2,
            "the blueprint is empty: it needs at least `blueprint: NAME` and a `resources:` section"
        );
    }
}

fn load_file(path: &Path) -> LoadError {
    load(path, &LoadOptions::default(), &registry()).expect_err("the file should be rejected")
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("network.yaml");
    let LoadError::Io(message) = load_file(&path) else {
        panic!("a missing file is an I/O error");
    };
    assert!(
        message.starts_with(&format!("blueprint file not found: {}", path.display())),
        "{message}"
    );
    let LoadError::Io(message) = load_file(dir.path()) else {
        panic!("a directory is an I/O error");
    };
    assert!(message.contains("is a directory"), "{message}");
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_invalid_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    // "café" in Latin-1: 0xE9 on line 2, after "  # caf".
    std::fs::write(&path, b"blueprint: x\n  # caf\xe9\nresources: {}\n").unwrap();
    let LoadError::Invalid(errors) = load_file(&path) else {
        panic!("a non-UTF-8 file is a located error");
    };
    let [d] = errors.diagnostics.as_slice() else {
        panic!("one error: {:?}", errors.diagnostics);
    };
    assert_eq!((d.pos.line, d.pos.col), (2, 8));
    assert_eq!(
        d.message,
        "the blueprint is not UTF-8 text: byte 20 (0xE9) is not valid UTF-8"
    );
    assert!(errors
        .render()
        .contains(&format!("--> {}:2:8", path.display())));
}
