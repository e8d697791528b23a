//! The dated price table (`prices/us-east-1.toml`), in integer micro-dollars.

use std::collections::BTreeMap;

use serde::Deserialize;

const US_EAST_1: &str = include_str!("../prices/us-east-1.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub region: String,
    /// The date the prices were read, `YYYY-MM-DD`.
    pub as_of: String,
    pub hours_per_month: u64,
    pub hourly: BTreeMap<String, u64>,
    pub monthly: BTreeMap<String, u64>,
    pub per_unit: BTreeMap<String, u64>,
}

impl Prices {
    /// The table kept in the repository.
    pub fn us_east_1() -> Prices {
        // The table is part of the source and checked by the tests; a broken one cannot ship.
        toml::from_str(US_EAST_1).unwrap_or_else(|e| panic!("prices/us-east-1.toml is invalid: {e}"))
    }

    pub fn has_region(&self, region: &str) -> bool {
        self.region == region
    }

    /// Hourly price of an instance type (EC2 or RDS), in micro-dollars.
    pub fn hourly(&self, item: &str) -> Option<u64> {
        self.hourly.get(item).copied()
    }

    /// The EC2 instance types (`database` false) or RDS classes (`database` true) the table knows.
    pub fn known_types(&self, database: bool) -> Vec<String> {
        self.hourly
            .keys()
            .filter(|k| k.contains('.') && k.starts_with("db.") == database)
            .cloned()
            .collect()
    }

    pub(crate) fn h(&self, item: &str) -> u64 {
        self.hourly.get(item).copied().unwrap_or(0)
    }
    pub(crate) fn m(&self, item: &str) -> u64 {
        self.monthly.get(item).copied().unwrap_or(0)
    }
    pub(crate) fn u(&self, item: &str) -> u64 {
        self.per_unit.get(item).copied().unwrap_or(0)
    }
}
