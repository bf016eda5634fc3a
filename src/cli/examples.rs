//! The "Examples:" section of each command's `--help`: the commands people type most,
//! ready to copy.

pub const VALIDATE: &str = "\
Examples:
  innovate validate plans/innovate-org.yaml --var email_domain=innovate-inc.com   # a required variable
  innovate validate plans/innovate.yaml --env prod --var nat_gateways=3";

pub const PLAN: &str = "\
Examples:
  innovate plan plans/innovate.yaml --env prod
  innovate plan plans/innovate.yaml --env prod --out prod.plan   # then: innovate apply prod.plan
  innovate plan plans/innovate.yaml --json --detailed-exitcode   # exit 2 when there are changes
  innovate plan plans/innovate.yaml --refresh=false --target 'private[1]'";

pub const APPLY: &str = "\
Examples:
  innovate apply plans/innovate.yaml --env prod
  innovate apply prod.plan                                       # exactly the saved plan
  innovate apply plans/innovate.yaml --auto-approve --json       # CI: JSON-lines events on stdout
  innovate apply plans/innovate.yaml --target main --parallelism 4";

pub const DESTROY: &str = "\
Examples:
  innovate destroy plans/innovate.yaml --env dev
  innovate destroy plans/innovate.yaml --env dev --auto-approve --json";

pub const DRIFT: &str = "\
Examples:
  innovate drift plans/innovate.yaml --env prod                  # exit 2 when anything drifted
  innovate drift plans/innovate.yaml --env prod --json";

pub const IMPORT: &str = "\
Examples:
  innovate import plans/innovate.yaml main vpc-0abc123 --env prod
  innovate import plans/innovate.yaml 'private[1]' subnet-0def456 --env prod";

pub const COST: &str = "\
Examples:
  innovate cost plans/innovate.yaml --env prod
  innovate cost plans/innovate.yaml --env dev --json";

pub const CHECK: &str = "\
Examples:
  innovate check plans/innovate.yaml --env prod
  innovate check plans/innovate.yaml --env prod --severity high --json";

pub const GRAPH: &str = "\
Examples:
  innovate graph plans/innovate.yaml | dot -Tsvg > graph.svg
  innovate graph plans/innovate.yaml --format mermaid --group subnet
  innovate graph plans/innovate.yaml --env prod --plan | dot -Tsvg > plan.svg   # coloured by action";

pub const OUTPUT: &str = "\
Examples:
  innovate output plans/innovate.yaml --env prod
  innovate output plans/innovate.yaml vpc_id --env prod          # the raw string
  innovate output plans/innovate.yaml --json";

pub const STATE: &str = "\
Examples:
  innovate state list plans/innovate.yaml --env prod
  innovate state show plans/innovate.yaml main
  innovate state mv plans/innovate.yaml old_name new_name";

pub const STATE_LIST: &str = "\
Examples:
  innovate state list plans/innovate.yaml --env prod
  innovate state list plans/innovate.yaml --state s3://bucket/innovate/prod.json";

pub const STATE_SHOW: &str = "\
Examples:
  innovate state show plans/innovate.yaml main
  innovate state show plans/innovate.yaml 'app[\"http\"]' --env prod";

pub const STATE_RM: &str = "\
Examples:
  innovate state rm plans/innovate.yaml 'private[2]'
  innovate state rm plans/innovate.yaml nat ip --env prod";

pub const STATE_MV: &str = "\
Examples:
  innovate state mv plans/innovate.yaml vpc main              # after renaming it in the blueprint";

pub const FORCE_UNLOCK: &str = "\
Examples:
  innovate force-unlock plans/innovate.yaml 6f1c2a9e-3b7d-4e58-9a0c-1d2e3f4a5b6c --env prod";

pub const COMPLETIONS: &str = "\
Examples:
  innovate completions bash > ~/.local/share/bash-completion/completions/innovate
  innovate completions zsh > \"${fpath[1]}/_innovate\"
  innovate completions fish > ~/.config/fish/completions/innovate.fish
  innovate completions powershell >> $PROFILE";
