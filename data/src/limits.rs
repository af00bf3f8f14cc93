//! The bank's configurable limits: the amount above which a teller's operation needs a
//! supervisor's approval, and customers' daily limits on transfers to others.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CurrencyLimitsRow {
    pub currency: String,
    pub approval_threshold: Decimal,
    pub daily_transfer_limit: Decimal,
    pub updated_at: OffsetDateTime,
    pub updated_by_username: Option<String>,
}

pub async fn currency_limits(conn: &mut PgConnection) -> Result<Vec<CurrencyLimitsRow>, DataError> {
    sqlx::query_as(
        "SELECT l.currency, l.approval_threshold, l.daily_transfer_limit, l.updated_at,
                u.username AS updated_by_username
         FROM currency_limits l LEFT JOIN users u ON u.id = l.updated_by ORDER BY l.currency",
    )
    .fetch_all(conn)
    .await
    .classify()
}

/// Locks and reads one currency's limits.
pub async fn lock_currency_limits(
    conn: &mut PgConnection,
    currency: &str,
) -> Result<Option<CurrencyLimitsRow>, DataError> {
    sqlx::query_as(
        "SELECT l.currency, l.approval_threshold, l.daily_transfer_limit, l.updated_at,
                NULL::text AS updated_by_username
         FROM currency_limits l WHERE l.currency = $1 FOR UPDATE",
    )
    .bind(currency)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn approval_threshold(
    conn: &mut PgConnection,
    currency: &str,
) -> Result<Option<Decimal>, DataError> {
    sqlx::query_scalar("SELECT approval_threshold FROM currency_limits WHERE currency = $1")
        .bind(currency)
        .fetch_optional(conn)
        .await
        .classify()
}

pub async fn set_currency_limits(
    conn: &mut PgConnection,
    currency: &str,
    approval_threshold: Decimal,
    daily_transfer_limit: Decimal,
    updated_by: Uuid,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE currency_limits SET approval_threshold = $2, daily_transfer_limit = $3,
                                    updated_at = now(), updated_by = $4
         WHERE currency = $1",
    )
    .bind(currency)
    .bind(approval_threshold)
    .bind(daily_transfer_limit)
    .bind(updated_by)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// A customer's daily limit in one currency: their own if set, else the bank's.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DailyLimitRow {
    pub currency: String,
    pub daily_limit: Decimal,
    /// True when the customer has a limit of their own.
    pub own: bool,
    /// What they have sent to others today (UTC).
    pub used_today: Decimal,
}

pub async fn customer_daily_limits(
    conn: &mut PgConnection,
    customer_id: Uuid,
) -> Result<Vec<DailyLimitRow>, DataError> {
    sqlx::query_as(
        "SELECT l.currency, coalesce(c.daily_limit, l.daily_transfer_limit) AS daily_limit,
                c.daily_limit IS NOT NULL AS own,
                coalesce(o.total, 0) AS used_today
         FROM currency_limits l
         LEFT JOIN customer_daily_limits c ON c.customer_id = $1 AND c.currency = l.currency
         LEFT JOIN daily_outflows o ON o.customer_id = $1 AND o.currency = l.currency
              AND o.day = (now() AT TIME ZONE 'UTC')::date
         ORDER BY l.currency",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await
    .classify()
}

/// Sets (or with `None`, removes) a customer's own daily limit in a currency.
pub async fn set_customer_daily_limit(
    conn: &mut PgConnection,
    customer_id: Uuid,
    currency: &str,
    limit: Option<Decimal>,
) -> Result<(), DataError> {
    match limit {
        Some(limit) => sqlx::query(
            "INSERT INTO customer_daily_limits (customer_id, currency, daily_limit)
             VALUES ($1, $2, $3)
             ON CONFLICT (customer_id, currency) DO UPDATE SET daily_limit = EXCLUDED.daily_limit",
        )
        .bind(customer_id)
        .bind(currency)
        .bind(limit),
        None => sqlx::query(
            "DELETE FROM customer_daily_limits WHERE customer_id = $1 AND currency = $2",
        )
        .bind(customer_id)
        .bind(currency),
    }
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// What the customer has sent to others today in `currency`, and the limit it must stay within;
/// read without a lock, for a check before a transfer (the transfer itself adds under one).
pub async fn daily_outflow(
    conn: &mut PgConnection,
    customer_id: Uuid,
    currency: &str,
) -> Result<(Decimal, Decimal), DataError> {
    sqlx::query_as(
        "SELECT coalesce((SELECT total FROM daily_outflows
                          WHERE customer_id = $1 AND currency = $2
                            AND day = (now() AT TIME ZONE 'UTC')::date), 0) AS total,
                coalesce((SELECT daily_limit FROM customer_daily_limits
                          WHERE customer_id = $1 AND currency = $2),
                         (SELECT daily_transfer_limit FROM currency_limits WHERE currency = $2),
                         0) AS daily_limit",
    )
    .bind(customer_id)
    .bind(currency)
    .fetch_one(conn)
    .await
    .classify()
}

/// Adds `amount` to what the customer has sent to others today and returns the new total with
/// the limit it must stay within. The upserted row stays locked until the transaction ends, so
/// two transfers of the same customer add up one after the other: the caller refuses (rolls back)
/// when the total exceeds the limit, and no two transfers can both slip under it.
pub async fn add_daily_outflow(
    conn: &mut PgConnection,
    customer_id: Uuid,
    currency: &str,
    amount: Decimal,
) -> Result<(Decimal, Decimal), DataError> {
    sqlx::query_as(
        "WITH added AS (
             INSERT INTO daily_outflows AS o (customer_id, day, currency, total)
             VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2, $3)
             ON CONFLICT (customer_id, day, currency) DO UPDATE SET total = o.total + EXCLUDED.total
             RETURNING o.total
         )
         SELECT added.total,
                coalesce((SELECT daily_limit FROM customer_daily_limits
                          WHERE customer_id = $1 AND currency = $2),
                         (SELECT daily_transfer_limit FROM currency_limits WHERE currency = $2),
                         0) AS daily_limit
         FROM added",
    )
    .bind(customer_id)
    .bind(currency)
    .bind(amount)
    .fetch_one(conn)
    .await
    .classify()
}

/// What decides whether a customer's payment to `credit_number` in `currency` needs a fresh
/// second factor: whether the destination is their own account or a saved payee, and their
/// step-up threshold in that currency (their own, if lower than the bank's).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepUpFacts {
    pub own_account: bool,
    pub saved_payee: bool,
    pub threshold: Decimal,
}

pub async fn step_up_facts(
    conn: &mut PgConnection,
    customer_id: Uuid,
    credit_number: &str,
    currency: &str,
) -> Result<Option<StepUpFacts>, DataError> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM accounts a
                        WHERE a.number = $2 AND a.customer_id = $1) AS own_account,
                EXISTS (SELECT 1 FROM payees p
                        WHERE p.customer_id = $1 AND p.account_number = $2) AS saved_payee,
                least(c.threshold, l.step_up_threshold) AS threshold
         FROM currency_limits l
         LEFT JOIN customer_step_up_thresholds c ON c.customer_id = $1 AND c.currency = l.currency
         WHERE l.currency = $3",
    )
    .bind(customer_id)
    .bind(credit_number)
    .bind(currency)
    .fetch_optional(conn)
    .await
    .classify()
}

/// A customer's step-up threshold in one currency, beside the bank's.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepUpThresholdRow {
    pub currency: String,
    /// The bank's threshold: the highest a customer may set.
    pub bank_threshold: Decimal,
    /// The customer's own, lower threshold, if they set one.
    pub own_threshold: Option<Decimal>,
}

pub async fn step_up_thresholds(
    conn: &mut PgConnection,
    customer_id: Uuid,
) -> Result<Vec<StepUpThresholdRow>, DataError> {
    sqlx::query_as(
        "SELECT l.currency, l.step_up_threshold AS bank_threshold, c.threshold AS own_threshold
         FROM currency_limits l
         LEFT JOIN customer_step_up_thresholds c ON c.customer_id = $1 AND c.currency = l.currency
         ORDER BY l.currency",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await
    .classify()
}

/// Sets (or with `None`, removes, going back to the bank's) a customer's own step-up threshold.
pub async fn set_step_up_threshold(
    conn: &mut PgConnection,
    customer_id: Uuid,
    currency: &str,
    threshold: Option<Decimal>,
) -> Result<(), DataError> {
    match threshold {
        Some(threshold) => sqlx::query(
            "INSERT INTO customer_step_up_thresholds (customer_id, currency, threshold)
             VALUES ($1, $2, $3)
             ON CONFLICT (customer_id, currency)
             DO UPDATE SET threshold = EXCLUDED.threshold, updated_at = now()",
        )
        .bind(customer_id)
        .bind(currency)
        .bind(threshold),
        None => sqlx::query(
            "DELETE FROM customer_step_up_thresholds WHERE customer_id = $1 AND currency = $2",
        )
        .bind(customer_id)
        .bind(currency),
    }
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// What a customer has sent others today in one currency, and the limit it must stay within.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutflowRow {
    pub customer_id: Uuid,
    pub currency: String,
    pub total: Decimal,
    pub daily_limit: Decimal,
}

/// Today's running totals of `(customer, currency)` pairs, each row created if missing and
/// locked until the transaction ends, in the order given (the caller sorts them, so that two
/// transactions lock them in the same order), with the limit each must stay within. The caller
/// decides in memory and adds what it posts with [`add_daily_outflows`].
pub async fn lock_daily_outflows(
    conn: &mut PgConnection,
    pairs: &[(Uuid, &str)],
) -> Result<Vec<OutflowRow>, DataError> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let customers: Vec<Uuid> = pairs.iter().map(|(customer, _)| *customer).collect();
    let currencies: Vec<&str> = pairs.iter().map(|(_, currency)| *currency).collect();
    sqlx::query_as(
        "WITH locked AS (
             INSERT INTO daily_outflows AS o (customer_id, day, currency, total)
             SELECT w.customer_id, (now() AT TIME ZONE 'UTC')::date, w.currency, 0
             FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS w (customer_id, currency, ord)
             ORDER BY w.ord
             ON CONFLICT (customer_id, day, currency) DO UPDATE SET total = o.total
             RETURNING o.customer_id, o.currency, o.total
         )
         SELECT l.customer_id, l.currency, l.total,
                coalesce((SELECT daily_limit FROM customer_daily_limits c
                          WHERE c.customer_id = l.customer_id AND c.currency = l.currency),
                         (SELECT daily_transfer_limit FROM currency_limits
                          WHERE currency = l.currency),
                         0) AS daily_limit
         FROM locked l",
    )
    .bind(&customers)
    .bind(&currencies)
    .fetch_all(conn)
    .await
    .classify()
}

/// Adds to today's running totals locked by [`lock_daily_outflows`].
pub async fn add_daily_outflows(
    conn: &mut PgConnection,
    added: &[(Uuid, &str, Decimal)],
) -> Result<(), DataError> {
    if added.is_empty() {
        return Ok(());
    }
    let customers: Vec<Uuid> = added.iter().map(|(customer, _, _)| *customer).collect();
    let currencies: Vec<&str> = added.iter().map(|(_, currency, _)| *currency).collect();
    let amounts: Vec<Decimal> = added.iter().map(|(_, _, amount)| *amount).collect();
    sqlx::query(
        "UPDATE daily_outflows o SET total = o.total + a.amount
         FROM unnest($1::uuid[], $2::text[], $3::numeric[]) AS a (customer_id, currency, amount)
         WHERE o.customer_id = a.customer_id AND o.currency = a.currency
           AND o.day = (now() AT TIME ZONE 'UTC')::date",
    )
    .bind(&customers)
    .bind(&currencies)
    .bind(&amounts)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}
