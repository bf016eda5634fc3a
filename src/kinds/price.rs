//! What a kind says about its cost and its place in the architecture: the engine's cost
//! estimate and pictures read it from the kind, so a new kind needs no second list.

use super::Attrs;

/// What one resource instance costs per month.
#[derive(Debug, Clone, PartialEq)]
pub enum Pricing {
    /// No charge of its own (VPCs, subnets, IAM, ...).
    Free,
    Priced {
        monthly: f64,
        detail: String,
    },
    /// Cannot be priced from the table: the reason says which attribute or entry is missing.
    NotPriced(String),
}

impl Pricing {
    pub fn monthly(&self) -> f64 {
        match self {
            Pricing::Priced { monthly, .. } => *monthly,
            _ => 0.0,
        }
    }
}

/// How a kind is priced.
#[derive(Debug, Clone, Copy)]
pub enum Price {
    /// AWS does not charge for it by the hour (its traffic or contents may cost).
    Free,
    /// A price model over the instance's attributes (`crate::cost::models`).
    Model(fn(&Attrs) -> Pricing),
}

impl Price {
    pub fn of(&self, attrs: &Attrs) -> Pricing {
        match self {
            Price::Free => Pricing::Free,
            Price::Model(model) => model(attrs),
        }
    }
}

/// Where a kind stands in the architecture, in the order a reader follows it (pictures
/// group instances by tier, then by service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Accounts,
    Identity,
    Security,
    Network,
    Edge,
    Compute,
    Database,
    Storage,
    Observability,
}

impl Tier {
    pub fn title(self) -> &'static str {
        match self {
            Tier::Accounts => "accounts",
            Tier::Identity => "identity",
            Tier::Security => "security",
            Tier::Network => "network",
            Tier::Edge => "edge",
            Tier::Compute => "compute",
            Tier::Database => "database",
            Tier::Storage => "storage",
            Tier::Observability => "observability",
        }
    }
}
