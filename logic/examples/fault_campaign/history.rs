//! What the campaign saw, and the checker that decides whether the bank kept its word.
//!
//! Every operation is recorded with when it was sent, when it was answered and how it ended:
//! `Ok` (a client saw it succeed: acknowledged), `Refused` (a definite no) or `Unknown` (no
//! definite answer before the client gave up: a lost connection, a 503 past the retry budget).
//! After the faults are healed the checker asks the bank, by idempotency key, what became of each
//! one and holds it to this:
//!
//! - every acknowledged transfer exists, once, with the amount the client asked for;
//! - every refused one does not exist;
//! - an unknown one exists at most once (the key makes a second posting impossible; the balances
//!   check below would show one made under another key);
//! - every snapshot read of all the accounts summed to the money that was put in, and showed no
//!   balance below its floor;
//! - each final balance is the opening balance plus exactly the transfers found applied.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;

/// How an operation ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Acknowledged: the bank answered with the posted transfer.
    Ok { transfer_id: String },
    /// The bank said no (insufficient funds, …): nothing may have moved.
    Refused { status: u16, code: String },
    /// No definite answer: the transfer may or may not have been posted.
    Unknown { last_error: String },
}

/// One transfer a client asked for, under one idempotency key (however many attempts it took).
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    pub client: usize,
    pub key: String,
    pub debit: usize,
    pub credit: usize,
    pub amount: Decimal,
    /// Milliseconds since the campaign started.
    pub sent_ms: u64,
    pub answered_ms: u64,
    pub attempts: u32,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One read of every account of the customer in one request: one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotRead {
    pub reader: usize,
    pub at_ms: u64,
    /// Ledger balances in account order.
    pub balances: Vec<Decimal>,
}

/// One fault, from its injection to the moment the whole topology was healthy again.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    pub kind: String,
    pub target: String,
    pub started_ms: u64,
    pub healed_ms: u64,
    pub recovered_ms: u64,
}

/// What the bank says now of one operation's key: the transfer posted under it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub transfer_id: String,
    pub amount: Decimal,
}

#[derive(Debug, Default)]
pub struct Verdict {
    pub acknowledged: usize,
    pub refused: usize,
    pub unknown: usize,
    pub unknown_applied: usize,
    pub lost: Vec<String>,
    pub wrong: Vec<String>,
    pub refused_but_applied: Vec<String>,
    pub reads_checked: usize,
    pub bad_reads: Vec<String>,
    pub balance_mismatches: Vec<String>,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.lost.is_empty()
            && self.wrong.is_empty()
            && self.refused_but_applied.is_empty()
            && self.bad_reads.is_empty()
            && self.balance_mismatches.is_empty()
    }
}

/// Holds the history to the bank's guarantees. `posted` is what the bank answered, after the
/// faults, for each operation's key; `opening` and `closing` are the balances before the first
/// and after the last operation; `total` is the money in the accounts (transfers only move it).
pub fn check(
    operations: &[Operation],
    reads: &[SnapshotRead],
    posted: &HashMap<String, Option<Posted>>,
    opening: &[Decimal],
    closing: &[Decimal],
) -> Verdict {
    let mut verdict = Verdict::default();
    let mut expected = opening.to_vec();
    for op in operations {
        let found = posted.get(&op.key).cloned().flatten();
        let applied = match (&op.outcome, &found) {
            (Outcome::Ok { transfer_id }, Some(p)) => {
                verdict.acknowledged += 1;
                if &p.transfer_id != transfer_id || p.amount != op.amount {
                    verdict.wrong.push(format!(
                        "{}: acknowledged as {transfer_id} for {}, the bank has {} for {}",
                        op.key, op.amount, p.transfer_id, p.amount
                    ));
                }
                true
            }
            (Outcome::Ok { transfer_id }, None) => {
                verdict.acknowledged += 1;
                verdict.lost.push(format!(
                    "{} (transfer {transfer_id}, acknowledged at {} ms)",
                    op.key, op.answered_ms
                ));
                false
            }
            (Outcome::Refused { .. }, Some(p)) => {
                verdict.refused += 1;
                verdict
                    .refused_but_applied
                    .push(format!("{} posted as {}", op.key, p.transfer_id));
                true
            }
            (Outcome::Refused { .. }, None) => {
                verdict.refused += 1;
                false
            }
            (Outcome::Unknown { .. }, found) => {
                verdict.unknown += 1;
                if let Some(p) = found {
                    verdict.unknown_applied += 1;
                    if p.amount != op.amount {
                        verdict.wrong.push(format!(
                            "{}: asked for {}, the bank has {}",
                            op.key, op.amount, p.amount
                        ));
                    }
                }
                found.is_some()
            }
        };
        if applied {
            expected[op.debit] -= op.amount;
            expected[op.credit] += op.amount;
        }
    }
    let total: Decimal = opening.iter().sum();
    for read in reads {
        verdict.reads_checked += 1;
        let sum: Decimal = read.balances.iter().sum();
        if read.balances.len() != opening.len() || sum != total {
            verdict.bad_reads.push(format!(
                "reader {} at {} ms saw {} accounts summing to {sum}, not {total}",
                read.reader,
                read.at_ms,
                read.balances.len()
            ));
        } else if let Some(below) = read.balances.iter().position(|b| b.is_sign_negative()) {
            verdict.bad_reads.push(format!(
                "reader {} at {} ms saw account {below} at {}",
                read.reader, read.at_ms, read.balances[below]
            ));
        }
    }
    if closing.len() != expected.len() {
        verdict.balance_mismatches.push(format!(
            "{} accounts at the end, {} at the start",
            closing.len(),
            expected.len()
        ));
    }
    for (index, (want, have)) in expected.iter().zip(closing).enumerate() {
        if want != have {
            verdict.balance_mismatches.push(format!(
                "account {index}: the applied transfers make {want}, the bank says {have}"
            ));
        }
    }
    verdict
}

/// When each acknowledged operation was answered, in order.
pub fn ack_times(operations: &[Operation]) -> Vec<u64> {
    let mut acks: Vec<u64> = operations
        .iter()
        .filter(|op| matches!(op.outcome, Outcome::Ok { .. }))
        .map(|op| op.answered_ms)
        .collect();
    acks.sort_unstable();
    acks
}

/// The longest time without a success while each fault was on, by fault kind: from the last
/// success before the fault to the first one after it, through every gap until the topology had
/// recovered. `successes` are in order.
pub fn write_gaps_ms(successes: &[u64], faults: &[FaultRecord]) -> BTreeMap<String, u64> {
    let mut gaps = BTreeMap::new();
    for fault in faults {
        let gap = longest_gap_ms(successes, fault.started_ms, fault.recovered_ms);
        let worst = gaps.entry(fault.kind.clone()).or_insert(0);
        *worst = (*worst).max(gap);
    }
    gaps
}

/// The longest stretch between consecutive times in `sorted` that overlaps `[from, to]`; a
/// window with no time after it counts to its end.
pub fn longest_gap_ms(sorted: &[u64], from: u64, to: u64) -> u64 {
    let start = sorted.partition_point(|&t| t < from);
    let mut previous = if start > 0 { sorted[start - 1] } else { from };
    let mut longest = 0;
    for &t in &sorted[start..] {
        longest = longest.max(t - previous);
        previous = t;
        if t > to {
            return longest;
        }
    }
    longest.max(to.saturating_sub(previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(key: &str, debit: usize, credit: usize, amount: i64, outcome: Outcome) -> Operation {
        Operation {
            client: 0,
            key: key.into(),
            debit,
            credit,
            amount: Decimal::new(amount, 2),
            sent_ms: 0,
            answered_ms: 10,
            attempts: 1,
            outcome,
        }
    }

    fn ok(id: &str) -> Outcome {
        Outcome::Ok {
            transfer_id: id.into(),
        }
    }

    fn posted(id: &str, amount: i64) -> Option<Posted> {
        Some(Posted {
            transfer_id: id.into(),
            amount: Decimal::new(amount, 2),
        })
    }

    fn eur(values: &[i64]) -> Vec<Decimal> {
        values.iter().map(|v| Decimal::new(*v, 2)).collect()
    }

    #[test]
    fn a_clean_history_holds() {
        let ops = vec![
            op("a", 0, 1, 100, ok("t1")),
            op(
                "b",
                1,
                0,
                50,
                Outcome::Unknown {
                    last_error: "timeout".into(),
                },
            ),
            op(
                "c",
                0,
                1,
                900,
                Outcome::Refused {
                    status: 422,
                    code: "insufficient_funds".into(),
                },
            ),
        ];
        let found = HashMap::from([
            ("a".to_owned(), posted("t1", 100)),
            ("b".to_owned(), posted("t2", 50)),
            ("c".to_owned(), None),
        ]);
        let reads = vec![SnapshotRead {
            reader: 0,
            at_ms: 5,
            balances: eur(&[900, 1100]),
        }];
        let verdict = check(
            &ops,
            &reads,
            &found,
            &eur(&[1000, 1000]),
            &eur(&[950, 1050]),
        );
        assert!(verdict.holds(), "{verdict:?}");
        assert_eq!((verdict.acknowledged, verdict.unknown_applied), (1, 1));
    }

    #[test]
    fn an_acknowledged_transfer_the_bank_no_longer_has_is_lost() {
        let ops = vec![op("a", 0, 1, 100, ok("t1"))];
        let found = HashMap::from([("a".to_owned(), None)]);
        let verdict = check(&ops, &[], &found, &eur(&[1000, 0]), &eur(&[1000, 0]));
        assert_eq!(verdict.lost.len(), 1);
        assert!(!verdict.holds());
    }

    #[test]
    fn a_refused_transfer_that_was_posted_is_caught() {
        let ops = vec![op(
            "a",
            0,
            1,
            100,
            Outcome::Refused {
                status: 422,
                code: "insufficient_funds".into(),
            },
        )];
        let found = HashMap::from([("a".to_owned(), posted("t1", 100))]);
        let verdict = check(&ops, &[], &found, &eur(&[1000, 0]), &eur(&[900, 100]));
        assert_eq!(verdict.refused_but_applied.len(), 1);
        assert!(!verdict.holds());
    }

    #[test]
    fn money_moved_twice_shows_in_the_closing_balances() {
        // The bank has the transfer once under its key, but the balances moved twice.
        let ops = vec![op("a", 0, 1, 100, ok("t1"))];
        let found = HashMap::from([("a".to_owned(), posted("t1", 100))]);
        let verdict = check(&ops, &[], &found, &eur(&[1000, 0]), &eur(&[800, 200]));
        assert_eq!(verdict.balance_mismatches.len(), 2);
        assert!(!verdict.holds());
    }

    #[test]
    fn a_snapshot_that_does_not_add_up_or_goes_below_the_floor_is_a_bad_read() {
        let reads = vec![
            SnapshotRead {
                reader: 0,
                at_ms: 1,
                balances: eur(&[1000, 900]),
            },
            SnapshotRead {
                reader: 1,
                at_ms: 2,
                balances: eur(&[2100, -100]),
            },
        ];
        let verdict = check(
            &[],
            &reads,
            &HashMap::new(),
            &eur(&[1000, 1000]),
            &eur(&[1000, 1000]),
        );
        assert_eq!(verdict.bad_reads.len(), 2, "{verdict:?}");
    }

    #[test]
    fn an_acknowledgement_with_another_amount_is_wrong() {
        let ops = vec![op("a", 0, 1, 100, ok("t1"))];
        let found = HashMap::from([("a".to_owned(), posted("t1", 200))]);
        let verdict = check(&ops, &[], &found, &eur(&[1000, 0]), &eur(&[900, 100]));
        assert_eq!(verdict.wrong.len(), 1);
    }

    #[test]
    fn the_write_gap_spans_the_fault_from_the_last_acknowledgement_before_it() {
        let acks = [100, 200, 1_000, 5_000, 5_100, 9_000];
        // Fault from 1,500 to 5,050: the gap 1,000 → 5,000 overlaps it.
        assert_eq!(longest_gap_ms(&acks, 1_500, 5_050), 4_000);
        // A fault after the last acknowledgement counts to its recovery.
        assert_eq!(longest_gap_ms(&acks, 9_500, 12_000), 3_000);
        // A quiet fault: the usual spacing.
        assert_eq!(longest_gap_ms(&acks, 150, 180), 100);
    }
}
