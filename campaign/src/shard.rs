//! Deterministic sharding: shard `k` of `N` runs seeds `k, k + N, k + 2N, ...` (run index `i` has
//! seed `i * N + k`). Shards never overlap, and `N` shards together run seeds `0, 1, 2, ...` — so
//! any batch scheduler (a Kubernetes indexed job, a Slurm array, a CI matrix) can run a campaign
//! with `--shard $INDEX/$COUNT` and `campaign merge` the directories afterwards.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The seed of run number `i` of this shard.
    pub fn seed(&self, i: u64) -> u64 {
        i.wrapping_mul(self.count).wrapping_add(self.index)
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("expected k/N (e.g. 0/4), got `{s}`"))?;
        let index: u64 = k.trim().parse().map_err(|_| format!("expected a shard index before `/`, got `{k}`"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("expected a shard count after `/`, got `{n}`"))?;
        if count == 0 || index >= count {
            return Err(format!("expected 0 <= k < N, got {index}/{count}"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
