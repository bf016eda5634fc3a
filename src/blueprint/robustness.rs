//! Hostile input: mutated valid blueprints and arbitrary bytes must never panic and must
//! always end in a valid model or located errors (a property test with a fixed seed, so a
//! failure reproduces).

use super::*;
use crate::aws::{registry, AwsContext};

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    ":",
    "-",
    "{",
    "}",
    "[",
    "]",
    "${",
    "}",
    "\"",
    "'",
    "\n",
    "  ",
    "#",
    "&a",
    "*a",
    "!!str",
    "|",
    ">",
    "%",
    "@",
    "\t",
    "\\",
    "0",
    "-1",
    "99999999999999999999",
    "${main.id}",
    "${var.",
    "count",
    "for_each",
    "[*]",
    "[\"k\"]",
    "\u{0}",
    "é",
    "${count.index}",
    "${each.value.x}",
    "kind: ec2.vpc",
    "~",
    "null",
    "true",
    ".",
    "${element(",
    ")}",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(chars.len() + 1);
        match rng.below(5) {
            0 => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                chars.splice(at..at, fragment.chars());
            }
            1 if at < chars.len() => {
                let end = (at + 1 + rng.below(12)).min(chars.len());
                chars.drain(at..end);
            }
            2 => chars.truncate(at),
            3 if at < chars.len() => {
                chars[at] = FRAGMENTS[rng.below(FRAGMENTS.len())]
                    .chars()
                    .next()
                    .unwrap_or(' ')
            }
            _ => {
                let lines: Vec<String> = chars
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(str::to_string)
                    .collect();
                if lines.len() > 2 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    let mut lines = lines;
                    lines.swap(a, b);
                    chars = lines.join("\n").chars().collect();
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Parses `text` for every environment it may use; errors must be located inside the file.
fn check(text: &str, registry: &crate::kinds::Registry) {
    // YAML breaks lines at \r too.
    let lines = text.split(['\n', '\r']).count() + 1;
    for env in [None, Some("dev"), Some("prod")] {
        let options = LoadOptions {
            env: env.map(str::to_string),
            vars: vec![("nat_gateways".into(), "2".into())],
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            parse("fuzz.yaml", text, &options, registry)
        }));
        let Ok(result) = result else {
            panic!("parsing panicked on:\n{text}")
        };
        if let Err(errors) = result {
            assert!(
                !errors.diagnostics.is_empty(),
                "an error without diagnostics for:\n{text}"
            );
            for d in &errors.diagnostics {
                assert!(
                    d.pos.line >= 1 && d.pos.line <= lines,
                    "error at line {} outside the file:\n{text}",
                    d.pos.line
                );
                assert!(!d.message.is_empty());
            }
            let _ = errors.render();
        }
    }
}

#[test]
fn mutated_blueprints_never_panic_and_errors_stay_located() {
    let registry = registry(AwsContext::new(None));
    let seeds = [
        include_str!("../../plans/network.yaml"),
        super::tests::NETWORK,
    ];
    let mut rng = Rng(0x1d3a_5eed_0000_0001);
    for seed in seeds {
        check(seed, &registry);
        for _ in 0..1500 {
            check(&mutate(&mut rng, seed), &registry);
        }
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let registry = registry(AwsContext::new(None));
    let mut rng = Rng(0xbad_b17e5);
    for _ in 0..2000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes), &registry);
    }
}
