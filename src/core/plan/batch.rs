//! Packing record change groups into ChangeResourceRecordSets batches.
//!
//! A batch is atomic and limited to 1,000 resource record values and 32,000
//! characters of values, UPSERTs counting twice. Each FailoverRecord's group
//! (PRIMARY, SECONDARY, marker) stays whole inside one batch; groups of several
//! records share batches, so 600 records need one or two requests, not 600.

use serde::Serialize;

use crate::route53::Change;

/// Route 53's limits on one change batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchLimits {
    pub max_values: usize,
    pub max_chars: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_values: 1000,
            max_chars: 32_000,
        }
    }
}

/// What a set of changes counts against the limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCost {
    pub values: usize,
    pub chars: usize,
}

impl BatchCost {
    pub fn of(changes: &[Change]) -> Self {
        changes.iter().fold(Self::default(), |cost, change| {
            let weight = change.action.weight();
            Self {
                values: cost.values + weight * change.record.value_count(),
                chars: cost.chars + weight * change.record.value_chars(),
            }
        })
    }

    fn plus(self, other: Self) -> Self {
        Self {
            values: self.values + other.values,
            chars: self.chars + other.chars,
        }
    }

    pub fn fits(self, limits: BatchLimits) -> bool {
        self.values <= limits.max_values && self.chars <= limits.max_chars
    }
}

/// A group too large for any batch on its own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the record changes need {} values and {} characters, more than one Route 53 change batch allows ({} and {})", cost.values, cost.chars, limits.max_values, limits.max_chars)]
pub struct OversizedGroup {
    pub cost: BatchCost,
    pub limits: BatchLimits,
}

/// Groups of changes, each tagged with whose they are.
pub type Groups<T> = Vec<(T, Vec<Change>)>;

/// Pack groups, in order, into as few batches as fit the limits. Each group
/// lands whole in one batch; a group that fits no batch is returned as an error
/// in its place, so the caller can report it and go on with the rest.
pub fn pack<T>(
    groups: Groups<T>,
    limits: BatchLimits,
) -> (Vec<Groups<T>>, Vec<(T, OversizedGroup)>) {
    let mut batches: Vec<Groups<T>> = Vec::new();
    let mut oversized = Vec::new();
    let mut current: Groups<T> = Vec::new();
    let mut current_cost = BatchCost::default();
    for (tag, changes) in groups {
        let cost = BatchCost::of(&changes);
        if !cost.fits(limits) {
            oversized.push((tag, OversizedGroup { cost, limits }));
            continue;
        }
        if !current.is_empty() && !current_cost.plus(cost).fits(limits) {
            batches.push(std::mem::take(&mut current));
            current_cost = BatchCost::default();
        }
        current_cost = current_cost.plus(cost);
        current.push((tag, changes));
    }
    if !current.is_empty() {
        batches.push(current);
    }
    (batches, oversized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route53::{ChangeAction, RecordSet, RrType};

    fn change(action: ChangeAction, values: usize, value_len: usize) -> Change {
        Change {
            action,
            record: RecordSet {
                name: "x.example.com.".into(),
                rr_type: RrType::TXT,
                set_identifier: None,
                failover: None,
                ttl: Some(60),
                values: (0..values).map(|_| "v".repeat(value_len)).collect(),
                alias: None,
                health_check_id: None,
                other_routing: None,
            },
        }
    }

    #[test]
    fn upsert_counts_twice() {
        assert_eq!(
            BatchCost::of(&[change(ChangeAction::Upsert, 3, 10)]),
            BatchCost {
                values: 6,
                chars: 60
            }
        );
        assert_eq!(
            BatchCost::of(&[change(ChangeAction::Create, 3, 10)]),
            BatchCost {
                values: 3,
                chars: 30
            }
        );
        assert_eq!(
            BatchCost::of(&[change(ChangeAction::Delete, 3, 10)]),
            BatchCost {
                values: 3,
                chars: 30
            }
        );
    }

    #[test]
    fn groups_share_batches_up_to_the_value_limit() {
        // 600 groups of 3 changes with one value each: 1,800 values, so 2 batches.
        let groups: Vec<(usize, Vec<Change>)> = (0..600)
            .map(|i| (i, vec![change(ChangeAction::Create, 1, 12); 3]))
            .collect();
        let (batches, oversized) = pack(groups, BatchLimits::default());
        assert!(oversized.is_empty());
        assert_eq!(batches.len(), 2);
        for batch in &batches {
            let all: Vec<Change> = batch.iter().flat_map(|(_, c)| c.clone()).collect();
            assert!(BatchCost::of(&all).fits(BatchLimits::default()));
        }
        let order: Vec<usize> = batches.iter().flatten().map(|(i, _)| *i).collect();
        assert_eq!(
            order,
            (0..600).collect::<Vec<_>>(),
            "order and completeness kept"
        );
    }

    #[test]
    fn character_limit_splits_batches_too() {
        // 100 groups of 400 characters: 40,000 characters, over 32,000.
        let groups: Vec<(usize, Vec<Change>)> = (0..100)
            .map(|i| (i, vec![change(ChangeAction::Create, 1, 400)]))
            .collect();
        let (batches, _) = pack(groups, BatchLimits::default());
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].len(), 80);
    }

    #[test]
    fn an_upsert_heavy_group_is_split_where_a_create_heavy_one_is_not() {
        let limits = BatchLimits {
            max_values: 10,
            max_chars: 10_000,
        };
        let creates: Vec<(usize, Vec<Change>)> = (0..2)
            .map(|i| (i, vec![change(ChangeAction::Create, 5, 1)]))
            .collect();
        assert_eq!(pack(creates, limits).0.len(), 1);
        let upserts: Vec<(usize, Vec<Change>)> = (0..2)
            .map(|i| (i, vec![change(ChangeAction::Upsert, 5, 1)]))
            .collect();
        assert_eq!(pack(upserts, limits).0.len(), 2);
    }

    #[test]
    fn an_oversized_group_is_reported_and_the_rest_still_packed() {
        let limits = BatchLimits {
            max_values: 10,
            max_chars: 10_000,
        };
        let groups = vec![
            (0, vec![change(ChangeAction::Create, 2, 1)]),
            (1, vec![change(ChangeAction::Create, 11, 1)]),
            (2, vec![change(ChangeAction::Create, 2, 1)]),
        ];
        let (batches, oversized) = pack(groups, limits);
        assert_eq!(batches.len(), 1);
        assert_eq!(
            batches[0].iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(oversized.len(), 1);
        assert_eq!(oversized[0].0, 1);
    }
}
