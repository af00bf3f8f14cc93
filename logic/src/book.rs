//! The book of a group of transfers: every account they touch, locked once and in id order, and
//! every daily running total they add to, locked once; each transfer is then decided in memory,
//! in order, by the same rules as one posted alone ([`crate::posting::decide`] and the daily
//! limit), against the balances and totals the transfers before it left. What was accepted is
//! written with a few set-based statements ([`Book::write`]): one account touched by a hundred
//! transfers (a merchant, the vault) is locked once and its floor checked a hundred times in
//! memory, under that lock. The database's own checks stay the last word.

use std::collections::BTreeSet;

use data::PgConnection;
use data::Violation;
use data::accounts::AccountRow;
use data::limits::OutflowRow;
use data::transfers::NewTransfer;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ApiError, account_not_found};
use crate::posting::{Initiator, Movement, NewTransferSummary, Order, daily_limit_bound, decide};

/// Locked accounts and running totals, as the transfers decided so far leave them.
#[derive(Debug)]
pub struct Book {
    accounts: Vec<AccountRow>,
    outflows: Vec<OutflowRow>,
    /// What the accepted transfers add to each running total, by index in `outflows`.
    added: Vec<Decimal>,
}

/// A transfer the book accepted: which accounts it moves money between, and the running total
/// it counts against.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    debit: usize,
    credit: usize,
    outflow: Option<usize>,
    amount: Decimal,
}

/// A transfer the book wrote: its id, kind and the answer to give.
#[derive(Debug)]
pub struct Written {
    pub summary: NewTransferSummary,
    pub body: Value,
}

/// A transfer to write: what was asked, by whom, under which key, and what the book decided.
#[derive(Debug, Clone, Copy)]
pub struct Accepted<'a> {
    pub initiator: &'a Initiator,
    pub order: &'a Order,
    pub key: &'a str,
    pub request_id: Option<&'a str>,
    pub plan: Plan,
}

/// The circumstances shared by the transfers written together.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// The transaction's `now()`, stamped on the answers.
    pub now: time::OffsetDateTime,
    /// The atomic batch the transfers are the legs of.
    pub batch_id: Option<Uuid>,
}

impl Book {
    /// Locks the accounts `orders` name, in id order, then the running totals of the customers
    /// whose limits they count against, in (customer, currency) order: two groups, or a group
    /// and a transfer posted alone, queue for the same rows in the same order.
    pub async fn lock(
        conn: &mut PgConnection,
        orders: &[(&Initiator, &Order)],
    ) -> Result<Self, ApiError> {
        let mut numbers = Vec::with_capacity(orders.len() * 2);
        for (_, order) in orders {
            let (debit, credit) = accounts_of(order)?;
            numbers.push(debit.to_string());
            numbers.push(credit.to_string());
        }
        numbers.sort();
        numbers.dedup();
        let accounts = data::accounts::lock_accounts_by_numbers(&mut *conn, &numbers).await?;
        let mut book = Book {
            accounts,
            outflows: Vec::new(),
            added: Vec::new(),
        };
        let mut pairs = BTreeSet::new();
        for (_, order) in orders {
            let (debit, credit) = accounts_of(order)?;
            if let (Some(debit), Some(credit)) = (book.find(debit), book.find(credit))
                && let Some(customer) = daily_limit_bound(&order.movement, debit, credit)
            {
                pairs.insert((customer, order.amount.currency().code()));
            }
        }
        let pairs: Vec<(Uuid, &str)> = pairs.into_iter().collect();
        book.outflows = data::limits::lock_daily_outflows(&mut *conn, &pairs).await?;
        book.added = vec![Decimal::ZERO; book.outflows.len()];
        Ok(book)
    }

    fn find(&self, number: &str) -> Option<&AccountRow> {
        self.accounts
            .iter()
            .find(|account| account.number == number)
    }

    fn index(&self, id: Uuid) -> Option<usize> {
        self.accounts.iter().position(|account| account.id == id)
    }

    /// Decides `order` for `initiator` against the book as it stands: the rules of
    /// [`decide`], then the daily limit. Changes nothing; [`Book::apply`] takes what it accepts.
    pub fn plan(&self, initiator: &Initiator, order: &Order) -> Result<Plan, ApiError> {
        let (debit, credit) = accounts_of(order)?;
        let currency = order.amount.currency().code();
        let amount = order.amount.value();
        let (debit, credit) = decide(
            initiator,
            &order.movement,
            (self.find(debit), self.find(credit)),
            currency,
            amount,
        )?;
        let outflow = match daily_limit_bound(&order.movement, debit, credit) {
            None => None,
            Some(customer) => {
                let at = self
                    .outflows
                    .iter()
                    .position(|row| row.customer_id == customer && row.currency == currency)
                    .ok_or_else(|| ApiError::Internal("a running total was not locked".into()))?;
                let row = &self.outflows[at];
                let used = row.total + self.added[at];
                if used + amount > row.daily_limit {
                    return Err(crate::posting::over_daily_limit(
                        row.daily_limit,
                        used,
                        currency,
                    ));
                }
                Some(at)
            }
        };
        let (Some(debit), Some(credit)) = (self.index(debit.id), self.index(credit.id)) else {
            return Err(account_not_found());
        };
        Ok(Plan {
            debit,
            credit,
            outflow,
            amount,
        })
    }

    /// The customer holding the account `plan` credits, if a customer's.
    pub fn credit_holder(&self, plan: &Plan) -> Option<Uuid> {
        self.accounts[plan.credit].customer_id
    }

    /// Takes an accepted transfer into the book: both balances and the running total move.
    pub fn apply(&mut self, plan: Plan) {
        self.accounts[plan.debit].balance -= plan.amount;
        self.accounts[plan.credit].balance += plan.amount;
        if let Some(at) = plan.outflow {
            self.added[at] += plan.amount;
        }
    }

    /// Writes the accepted transfers, in order, with their entries, and adds to the running
    /// totals: two statements however many there are. Gives each transfer's answer.
    pub async fn write(
        &self,
        conn: &mut PgConnection,
        accepted: &[Accepted<'_>],
        stamp: Stamp,
    ) -> Result<Vec<Written>, ApiError> {
        let mut written = Vec::with_capacity(accepted.len());
        let mut transfers = Vec::with_capacity(accepted.len());
        for &Accepted {
            initiator,
            order,
            key,
            request_id,
            plan,
        } in accepted
        {
            let summary = NewTransferSummary {
                id: Uuid::now_v7(),
                kind: order.kind(),
            };
            let (debit, credit) = (&self.accounts[plan.debit], &self.accounts[plan.credit]);
            let currency = order.amount.currency().code();
            let body = crate::posting::to_body(&crate::posting::answer(
                summary,
                plan.amount,
                currency,
                (&debit.number, &credit.number),
                &order.memo,
                stamp.now,
                None,
            ))?;
            transfers.push(NewTransfer {
                id: summary.id,
                idempotency_key: key,
                kind: summary.kind,
                amount: plan.amount,
                currency,
                debit_account_id: debit.id,
                credit_account_id: credit.id,
                memo: &order.memo,
                initiated_by: Some(initiator.user_id),
                reverses_transfer_id: None,
                request_id,
                batch_id: stamp.batch_id,
            });
            written.push(Written { summary, body });
        }
        data::transfers::post_transfers(&mut *conn, &transfers)
            .await
            .map_err(|e| match e.violation() {
                // Decided in memory under the same locks, so this is a defect, not a refusal.
                Some(Violation::BalanceBelowFloor) => ApiError::Internal(
                    "the database refused a balance the book had accepted".into(),
                ),
                _ => ApiError::from(e),
            })?;
        let added: Vec<(Uuid, &str, Decimal)> = self
            .outflows
            .iter()
            .zip(&self.added)
            .filter(|(_, added)| !added.is_zero())
            .map(|(row, added)| (row.customer_id, row.currency.as_str(), *added))
            .collect();
        data::limits::add_daily_outflows(&mut *conn, &added).await?;
        Ok(written)
    }
}

/// The two account numbers of a transfer; the book holds transfers only.
fn accounts_of(order: &Order) -> Result<(&str, &str), ApiError> {
    match &order.movement {
        Movement::Transfer { debit, credit } => Ok((debit.as_str(), credit.as_str())),
        _ => Err(ApiError::Internal(
            "only transfers between accounts are decided in a book".into(),
        )),
    }
}
