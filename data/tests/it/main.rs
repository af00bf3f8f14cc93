//! The database's own defences, tried directly: whatever the logic tier gets wrong, PostgreSQL
//! refuses an unbalanced transfer, a balance below its floor, a rewritten ledger entry, an amount
//! finer than its currency and a tampered audit row.

// Tests unwrap: a panic, with its message, is the failure report.
#![allow(
    clippy::unwrap_used,
    reason = "a test's panic, with its message, is its failure report"
)]

use data::accounts::{AccountKind, InternalLedger, NewAccount, NormalSide, Product};
use data::transfers::{NewTransfer, TransferKind};
use data::{DataError, PgPool, Violation};
use rust_decimal::Decimal;
use sqlx::Connection;
use uuid::Uuid;

struct Ledger {
    pool: PgPool,
    url: String,
    capital: Uuid,
    customer: Uuid,
}

async fn ledger() -> Ledger {
    let db = data::testing::fresh_database(4).await;
    let mut conn = db.pool.acquire().await.unwrap();
    let customer_id = Uuid::new_v4();
    data::customers::insert_customer(
        &mut conn,
        &data::customers::NewCustomer {
            address: None,
            id_document: None,
            id_document_kind: None,
            id_document_country: None,
            id_document_expires: None,
            id: customer_id,
            full_name: "Test Customer",
            email: "test@example.org",
            phone: None,
            date_of_birth: None,
        },
    )
    .await
    .unwrap();
    let capital = data::accounts::insert_account(
        &mut conn,
        &NewAccount {
            id: Uuid::new_v4(),
            number: "9000000001",
            kind: AccountKind::Internal,
            product: None,
            name: "Capital",
            customer_id: None,
            ledger: Some(InternalLedger::Capital),
            currency: "EUR",
            normal_side: NormalSide::Credit,
            overdraft_limit: Decimal::ZERO,
            floor_enforced: false,
        },
    )
    .await
    .unwrap();
    let customer = data::accounts::insert_account(
        &mut conn,
        &NewAccount {
            id: Uuid::new_v4(),
            number: "1000000001",
            kind: AccountKind::Customer,
            product: Some(Product::Current),
            name: "Current",
            customer_id: Some(customer_id),
            ledger: None,
            currency: "EUR",
            normal_side: NormalSide::Credit,
            overdraft_limit: Decimal::ZERO,
            floor_enforced: true,
        },
    )
    .await
    .unwrap();
    Ledger {
        pool: db.pool,
        url: db.url,
        capital: capital.id,
        customer: customer.id,
    }
}

fn transfer(debit: Uuid, credit: Uuid, amount: Decimal) -> NewTransfer<'static> {
    NewTransfer {
        id: Uuid::new_v4(),
        idempotency_key: "k",
        kind: TransferKind::OpeningCash,
        amount,
        currency: "EUR",
        debit_account_id: debit,
        credit_account_id: credit,
        memo: "",
        initiated_by: None,
        reverses_transfer_id: None,
        request_id: None,
        batch_id: None,
    }
}

async fn post(pool: &PgPool, new: &NewTransfer<'_>) -> Result<(), DataError> {
    let mut tx = pool.begin().await?;
    data::transfers::post_transfer(&mut tx, new).await?;
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn a_posted_transfer_moves_both_balances_and_records_the_balance_after() {
    let ledger = ledger().await;
    post(
        &ledger.pool,
        &transfer(ledger.capital, ledger.customer, Decimal::new(1050, 2)),
    )
    .await
    .unwrap();
    let mut conn = ledger.pool.acquire().await.unwrap();
    let accounts = data::accounts::reconcile_accounts(&mut conn).await.unwrap();
    let balance = |number: &str| {
        accounts
            .iter()
            .find(|a| a.number == number)
            .unwrap()
            .balance
    };
    assert_eq!(balance("1000000001"), Decimal::new(1050, 2));
    assert_eq!(balance("9000000001"), Decimal::new(-1050, 2));
    assert!(accounts.iter().all(|a| a.balance == a.entries_sum));
}

#[tokio::test]
async fn a_balance_below_its_floor_is_refused() {
    let ledger = ledger().await;
    let error = post(
        &ledger.pool,
        &transfer(ledger.customer, ledger.capital, Decimal::ONE),
    )
    .await
    .unwrap_err();
    assert_eq!(error.violation(), Some(&Violation::BalanceBelowFloor));
}

#[tokio::test]
async fn an_amount_finer_than_its_currency_is_refused() {
    let ledger = ledger().await;
    let error = post(
        &ledger.pool,
        &transfer(ledger.capital, ledger.customer, Decimal::new(1001, 3)),
    )
    .await
    .unwrap_err();
    assert_eq!(error.violation(), Some(&Violation::AmountScale));
}

/// A hold finer than its account's currency is refused by the database, whoever writes it.
#[tokio::test]
async fn a_hold_finer_than_its_currency_is_refused() {
    let ledger = ledger().await;
    let mut conn = ledger.pool.acquire().await.unwrap();
    let hold = |amount| data::holds::NewHold {
        id: Uuid::new_v4(),
        account_id: ledger.customer,
        amount,
        reason: "test",
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::days(1),
        placed_by: None,
    };
    let error = data::holds::insert_hold(&mut conn, &hold(Decimal::new(1001, 3)))
        .await
        .unwrap_err();
    assert_eq!(error.violation(), Some(&Violation::AmountScale));
    data::holds::insert_hold(&mut conn, &hold(Decimal::new(1001, 2)))
        .await
        .unwrap();
}

/// A transfer as its writer states it: its amount (as text, so a NaN can be tried), its currency
/// and its two accounts.
struct Stated<'a> {
    amount: &'a str,
    currency: &'a str,
    debit: Uuid,
    credit: Uuid,
}

/// Writes the stated transfer with the given entries in one statement, as the posting engine
/// does, each entry `(account, amount, balance_after)` in its account's currency.
async fn write_transfer(
    ledger: &Ledger,
    stated: &Stated<'_>,
    entries: &[(Uuid, String, String)],
) -> Result<(), sqlx::Error> {
    let mut tx = ledger.pool.begin().await?;
    let accounts: Vec<Uuid> = entries.iter().map(|e| e.0).collect();
    let amounts: Vec<&str> = entries.iter().map(|e| e.1.as_str()).collect();
    let after: Vec<&str> = entries.iter().map(|e| e.2.as_str()).collect();
    sqlx::query(
        "WITH transfer AS (
             INSERT INTO transfers (id, idempotency_key, kind, status, amount, currency,
                                    debit_account_id, credit_account_id)
             VALUES ($1, 'k', 'opening_cash', 'posted', $2::numeric, $3, $4, $5)
             RETURNING id
         )
         INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after)
         SELECT transfer.id, e.account_id, a.currency, e.amount::numeric, e.balance_after::numeric
         FROM transfer, unnest($6::uuid[], $7::text[], $8::text[])
             WITH ORDINALITY AS e (account_id, amount, balance_after, n)
         JOIN accounts a ON a.id = e.account_id
         ORDER BY e.n",
    )
    .bind(Uuid::new_v4())
    .bind(stated.amount)
    .bind(stated.currency)
    .bind(stated.debit)
    .bind(stated.credit)
    .bind(&accounts)
    .bind(&amounts)
    .bind(&after)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Writes a transfer of 5 from capital to the customer with the given entries, in one statement
/// as the posting engine does, each entry `(account, amount, balance_after)`.
async fn write_entries(ledger: &Ledger, entries: &[(Uuid, i64, i64)]) -> Result<(), sqlx::Error> {
    let stated = Stated {
        amount: "5",
        currency: "EUR",
        debit: ledger.capital,
        credit: ledger.customer,
    };
    let entries: Vec<(Uuid, String, String)> = entries
        .iter()
        .map(|&(account, amount, after)| (account, amount.to_string(), after.to_string()))
        .collect();
    write_transfer(ledger, &stated, &entries).await
}

fn sqlstate(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

fn constraint_of(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|e| e.constraint())
        .map(str::to_owned)
}

async fn balances(ledger: &Ledger) -> Vec<(String, Decimal, Decimal)> {
    let mut conn = ledger.pool.acquire().await.unwrap();
    data::accounts::reconcile_accounts(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.number, a.balance, a.entries_sum))
        .collect()
}

#[tokio::test]
async fn entries_that_do_not_sum_to_zero_are_refused() {
    let ledger = ledger().await;
    let before = balances(&ledger).await;
    for entries in [
        vec![(ledger.capital, -5, -5), (ledger.customer, 4, 4)],
        vec![(ledger.customer, 5, 5)],
    ] {
        let error = write_entries(&ledger, &entries).await.unwrap_err();
        assert_eq!(
            constraint_of(&error).as_deref(),
            Some("ledger_entries_balanced"),
            "{entries:?}: {error}"
        );
    }
    assert_eq!(balances(&ledger).await, before, "nothing moved");
    write_entries(
        &ledger,
        &[(ledger.capital, -5, -5), (ledger.customer, 5, 5)],
    )
    .await
    .unwrap();
}

/// An internal account with no floor, for entries the customer's floor would refuse.
async fn internal_account(
    ledger: &Ledger,
    number: &str,
    currency: &str,
    kind: InternalLedger,
) -> Uuid {
    let mut conn = ledger.pool.acquire().await.unwrap();
    data::accounts::insert_account(
        &mut conn,
        &NewAccount {
            id: Uuid::new_v4(),
            number,
            kind: AccountKind::Internal,
            product: None,
            name: number,
            customer_id: None,
            ledger: Some(kind),
            currency,
            normal_side: NormalSide::Debit,
            overdraft_limit: Decimal::ZERO,
            floor_enforced: false,
        },
    )
    .await
    .unwrap()
    .id
}

/// What a transfer says is what its entries move: balanced entries that move another amount,
/// between other accounts, the other way, in another currency or in three legs are refused, so
/// a statement, the history and the event feed never show one figure while balances moved by
/// another.
#[tokio::test]
async fn a_transfers_entries_are_exactly_its_two_legs() {
    let ledger = ledger().await;
    let other = internal_account(&ledger, "9000000002", "EUR", InternalLedger::OverShort).await;
    let usd_a = internal_account(&ledger, "9000000003", "USD", InternalLedger::Capital).await;
    let usd_b = internal_account(&ledger, "9000000004", "USD", InternalLedger::OverShort).await;
    let five = Stated {
        amount: "5",
        currency: "EUR",
        debit: ledger.capital,
        credit: other,
    };
    let leg = |account: Uuid, amount: &str| (account, amount.to_owned(), amount.to_owned());
    let before = balances(&ledger).await;
    let cases = [
        (
            "another amount",
            vec![leg(ledger.capital, "-500"), leg(other, "500")],
        ),
        (
            "the other way",
            vec![leg(ledger.capital, "5"), leg(other, "-5")],
        ),
        (
            "another account",
            vec![leg(ledger.capital, "-5"), leg(usd_a, "5")],
        ),
        ("another currency", vec![leg(usd_a, "-5"), leg(usd_b, "5")]),
        (
            "three legs",
            vec![leg(ledger.capital, "-5"), leg(other, "3"), leg(usd_a, "2")],
        ),
    ];
    for (case, entries) in cases {
        let error = write_transfer(&ledger, &five, &entries).await.unwrap_err();
        assert!(
            matches!(
                constraint_of(&error).as_deref(),
                Some("ledger_entries_match_transfer")
            ) || case == "three legs" && constraint_of(&error).is_some(),
            "{case}: {error}"
        );
    }
    assert_eq!(balances(&ledger).await, before, "nothing moved");
    write_transfer(
        &ledger,
        &five,
        &[leg(ledger.capital, "-5"), leg(other, "5")],
    )
    .await
    .unwrap();
    let found = || async {
        let mut conn = ledger.pool.acquire().await.unwrap();
        data::transfers::unbalanced_transfers(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(found().await, Vec::<Uuid>::new());

    // A superuser can write around the triggers; the offline check (verify-ledger) still finds
    // a transfer whose balanced entries move other money than it says.
    let mut superuser = sqlx::PgConnection::connect(&data::testing::superuser_url(&ledger.url))
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut superuser)
        .await
        .unwrap();
    let mut forged = Vec::new();
    for (debit, credit, amount) in [
        (ledger.capital, other, "500"),
        (other, ledger.capital, "5"),
        (usd_a, usd_b, "5"),
    ] {
        let id = Uuid::new_v4();
        sqlx::query(
            "WITH transfer AS (
                 INSERT INTO transfers (id, idempotency_key, kind, status, amount, currency,
                                        debit_account_id, credit_account_id)
                 VALUES ($1, 'forged', 'opening_cash', 'posted', 5, 'EUR', $5, $6)
                 RETURNING id
             )
             INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after)
             SELECT transfer.id, a.id, a.currency, x.amount, 0
               FROM transfer,
                    (VALUES ($2::uuid, -$4::numeric), ($3::uuid, $4::numeric)) AS x (id, amount)
               JOIN accounts a USING (id)",
        )
        .bind(id)
        .bind(debit)
        .bind(credit)
        .bind(amount)
        .bind(ledger.capital)
        .bind(other)
        .execute(&mut superuser)
        .await
        .unwrap();
        forged.push(id);
    }
    // Entries without a transfer; a transfer's legs on an account of another currency (a
    // currency changed with no exchange); a leg on an account that does not exist.
    let orphan = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after)
         VALUES ($1, $2, 'EUR', -1, 0), ($1, $3, 'EUR', 1, 0)",
    )
    .bind(orphan)
    .bind(ledger.capital)
    .bind(other)
    .execute(&mut superuser)
    .await
    .unwrap();
    forged.push(orphan);
    for credit in [usd_b, Uuid::new_v4()] {
        let id = Uuid::new_v4();
        sqlx::query(
            "WITH transfer AS (
                 INSERT INTO transfers (id, idempotency_key, kind, status, amount, currency,
                                        debit_account_id, credit_account_id)
                 VALUES ($1, 'forged', 'opening_cash', 'posted', 7, 'EUR', $2, $3)
                 RETURNING id
             )
             INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after)
             SELECT transfer.id, x.account, 'EUR', x.amount, 0
               FROM transfer, (VALUES ($2, -7), ($3, 7)) AS x (account, amount)",
        )
        .bind(id)
        .bind(ledger.capital)
        .bind(credit)
        .execute(&mut superuser)
        .await
        .unwrap();
        forged.push(id);
    }
    forged.sort();
    assert_eq!(found().await, forged);
}

/// A superuser who rewrites an entry's balance after it (the figure a statement shows) is found
/// by the offline check.
#[tokio::test]
async fn a_rewritten_balance_after_is_found_offline() {
    let ledger = ledger().await;
    post(
        &ledger.pool,
        &transfer(ledger.capital, ledger.customer, Decimal::TEN),
    )
    .await
    .unwrap();
    post(
        &ledger.pool,
        &transfer(ledger.capital, ledger.customer, Decimal::ONE),
    )
    .await
    .unwrap();
    let mut superuser = sqlx::PgConnection::connect(&data::testing::superuser_url(&ledger.url))
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut superuser)
        .await
        .unwrap();
    let misstated = || async {
        balances_checked(&ledger)
            .await
            .into_iter()
            .filter(|(_, misstated)| *misstated > 0)
            .map(|(number, _)| number)
            .collect::<Vec<_>>()
    };
    assert_eq!(misstated().await, Vec::<String>::new());
    sqlx::query(
        "UPDATE ledger_entries SET balance_after = 1000000
          WHERE id = (SELECT min(id) FROM ledger_entries WHERE account_id = $1)",
    )
    .bind(ledger.customer)
    .execute(&mut superuser)
    .await
    .unwrap();
    assert_eq!(misstated().await, vec!["1000000001".to_owned()]);
}

/// A reversal is the mirror of the transfer it names, or nothing: "reversal of T" cannot move
/// another amount, in another currency, or between other accounts.
#[tokio::test]
async fn a_reversal_mirrors_the_transfer_it_reverses() {
    let ledger = ledger().await;
    let other = internal_account(&ledger, "9000000002", "EUR", InternalLedger::OverShort).await;
    let original = transfer(ledger.capital, ledger.customer, Decimal::TEN);
    post(&ledger.pool, &original).await.unwrap();
    let reversal = |debit: Uuid, credit: Uuid, amount: Decimal| NewTransfer {
        kind: TransferKind::Reversal,
        reverses_transfer_id: Some(original.id),
        ..transfer(debit, credit, amount)
    };
    let before = balances(&ledger).await;
    for (case, wrong) in [
        (
            "less",
            reversal(ledger.customer, ledger.capital, Decimal::new(5, 0)),
        ),
        ("elsewhere", reversal(ledger.customer, other, Decimal::TEN)),
        (
            "the same way",
            reversal(ledger.capital, ledger.customer, Decimal::TEN),
        ),
    ] {
        let error = post(&ledger.pool, &wrong).await.unwrap_err();
        assert_eq!(
            error.violation(),
            Some(&Violation::Other("transfers_reversal_mirrors".into())),
            "{case}: {error}"
        );
    }
    assert_eq!(balances(&ledger).await, before, "nothing moved");
    post(
        &ledger.pool,
        &reversal(ledger.customer, ledger.capital, Decimal::TEN),
    )
    .await
    .unwrap();
}

/// Each account's number and how many of its entries misstate the balance after them.
async fn balances_checked(ledger: &Ledger) -> Vec<(String, i64)> {
    let mut conn = ledger.pool.acquire().await.unwrap();
    data::accounts::reconcile_accounts(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.number, a.misstated_entries))
        .collect()
}

/// A transfer and its entries are dated by the database, now: a writer cannot slip one into a
/// period whose statements were already sent.
#[tokio::test]
async fn nobody_dates_a_posting() {
    let ledger = ledger().await;
    let before = balances(&ledger).await;
    for (column, constraint) in [
        ("t.created_at", "transfers_created_now"),
        ("e.posted_at", "ledger_entries_posted_now"),
    ] {
        let (created_at, posted_at) = if column == "t.created_at" {
            ("'2020-01-01'::timestamptz", "now()")
        } else {
            ("now()", "'2020-01-01'::timestamptz")
        };
        let error = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH transfer AS (
                 INSERT INTO transfers (id, idempotency_key, kind, status, amount, currency,
                                        debit_account_id, credit_account_id, created_at)
                 VALUES ($1, 'k', 'opening_cash', 'posted', 5, 'EUR', $2, $3, {created_at})
                 RETURNING id
             )
             INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after,
                                         posted_at)
             SELECT transfer.id, x.account, 'EUR', x.amount, x.amount, {posted_at}
               FROM transfer, (VALUES ($2, -5::numeric), ($3, 5::numeric)) AS x (account, amount)"
        )))
        .bind(Uuid::new_v4())
        .bind(ledger.capital)
        .bind(ledger.customer)
        .execute(&ledger.pool)
        .await
        .unwrap_err();
        assert_eq!(
            constraint_of(&error).as_deref(),
            Some(constraint),
            "{column}: {error}"
        );
    }
    assert_eq!(balances(&ledger).await, before, "nothing moved");
}

/// PostgreSQL's numeric NaN sorts above every number and equals itself, so `amount > 0` and a
/// sum of NaN entries would let one through: every money column refuses it, and every numeric
/// column of the schema, today's and any added later, is one that does.
#[tokio::test]
async fn nan_is_never_money() {
    let ledger = ledger().await;
    let other = internal_account(&ledger, "9000000002", "EUR", InternalLedger::OverShort).await;
    let before = balances(&ledger).await;
    let nan = |account: Uuid| (account, "NaN".to_owned(), "NaN".to_owned());
    let stated = Stated {
        amount: "NaN",
        currency: "EUR",
        debit: ledger.capital,
        credit: other,
    };
    let error = write_transfer(&ledger, &stated, &[nan(ledger.capital), nan(other)])
        .await
        .unwrap_err();
    let constraint = constraint_of(&error).unwrap_or_default();
    assert!(constraint.ends_with("_is_a_number"), "{error}");
    assert_eq!(balances(&ledger).await, before, "nothing moved");

    // An account without a floor, whose own check would not mind.
    let error = sqlx::query("UPDATE accounts SET overdraft_limit = 'NaN' WHERE id = $1")
        .bind(ledger.capital)
        .execute(&ledger.pool)
        .await
        .unwrap_err();
    assert_eq!(
        constraint_of(&error).as_deref(),
        Some("accounts_overdraft_limit_is_a_number"),
        "{error}"
    );

    // Every numeric column has a precision (so no infinity fits) and a validated NaN check.
    let unguarded: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname || '.' || a.attname
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
            AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'numeric'::regtype
            AND (a.atttypmod = -1 OR NOT EXISTS (
                     SELECT 1 FROM pg_constraint k
                      WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated
                        AND k.conkey = ARRAY[a.attnum]
                        AND pg_get_constraintdef(k.oid) LIKE '%<> ''NaN''::numeric%'))
          ORDER BY 1",
    )
    .fetch_all(&ledger.pool)
    .await
    .unwrap();
    assert!(
        unguarded.is_empty(),
        "numeric columns that take NaN or infinity: {unguarded:?}"
    );
    let money: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
            AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'numeric'::regtype",
    )
    .fetch_one(&ledger.pool)
    .await
    .unwrap();
    assert!(
        money >= 15,
        "the catalogue query finds the money columns: {money}"
    );
}

/// A transfer comes with its entries, in the statement that inserts it.
#[tokio::test]
async fn a_transfer_without_entries_is_refused() {
    let ledger = ledger().await;
    let error = sqlx::query(
        "INSERT INTO transfers (id, idempotency_key, kind, status, amount, currency,
                                debit_account_id, credit_account_id)
         VALUES ($1, 'k', 'opening_cash', 'posted', 5, 'EUR', $2, $3)",
    )
    .bind(Uuid::new_v4())
    .bind(ledger.capital)
    .bind(ledger.customer)
    .execute(&ledger.pool)
    .await
    .unwrap_err();
    assert_eq!(
        constraint_of(&error).as_deref(),
        Some("ledger_entries_balanced"),
        "{error}"
    );
    let transfers: i64 = sqlx::query_scalar("SELECT count(*) FROM transfers")
        .fetch_one(&ledger.pool)
        .await
        .unwrap();
    assert_eq!(transfers, 0);
}

/// Entries come with their transfer: a balanced pair added to a transfer already posted is
/// refused, as is a row skipped by ON CONFLICT moving any balance.
#[tokio::test]
async fn no_entry_is_added_to_a_posted_transfer_nor_moves_money_unwritten() {
    let ledger = ledger().await;
    let posted = transfer(ledger.capital, ledger.customer, Decimal::TEN);
    post(&ledger.pool, &posted).await.unwrap();
    let before = balances(&ledger).await;
    let error = sqlx::query(
        "INSERT INTO ledger_entries (transfer_id, account_id, currency, amount, balance_after)
         SELECT $1, a.id, a.currency, x.amount, a.balance + x.amount
         FROM (VALUES ($2::uuid, -7::numeric), ($3::uuid, 7::numeric)) AS x (id, amount)
         JOIN accounts a USING (id)",
    )
    .bind(posted.id)
    .bind(ledger.capital)
    .bind(ledger.customer)
    .execute(&ledger.pool)
    .await
    .unwrap_err();
    assert_eq!(
        constraint_of(&error).as_deref(),
        Some("ledger_entries_balanced"),
        "{error}"
    );
    // A row that ON CONFLICT skips never reaches the statement's check, so it moves nothing.
    // Only the schema's owner may choose an entry's id at all; the runtime role is refused.
    let colliding = "INSERT INTO ledger_entries (id, transfer_id, account_id, currency, amount,
                                                 balance_after)
         OVERRIDING SYSTEM VALUE
         SELECT e.id, e.transfer_id, $1, 'EUR', 1000000, 1000000
         FROM ledger_entries e ORDER BY e.id LIMIT 1
         ON CONFLICT (id) DO NOTHING";
    let error = sqlx::query(colliding)
        .bind(ledger.customer)
        .execute(&ledger.pool)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error).as_deref(), Some("42501"), "{error}");
    let mut superuser = sqlx::PgConnection::connect(&data::testing::superuser_url(&ledger.url))
        .await
        .unwrap();
    sqlx::query(colliding)
        .bind(ledger.customer)
        .execute(&mut superuser)
        .await
        .unwrap();
    assert_eq!(balances(&ledger).await, before, "nothing moved");
}

/// The writer states each entry's balance after it; a statement that misstates one, for either
/// account, is refused whole.
#[tokio::test]
async fn an_entry_that_misstates_the_balance_after_it_is_refused() {
    let ledger = ledger().await;
    let before = balances(&ledger).await;
    for entries in [
        [(ledger.capital, -5, 0), (ledger.customer, 5, 5)],
        [(ledger.capital, -5, -5), (ledger.customer, 5, 500)],
    ] {
        let error = write_entries(&ledger, &entries).await.unwrap_err();
        assert_eq!(
            constraint_of(&error).as_deref(),
            Some("ledger_entries_balance_after"),
            "{entries:?}: {error}"
        );
    }
    assert_eq!(balances(&ledger).await, before, "nothing moved");
}

/// A statement moves each balance once, by its net amount, yet no entry in it may take its
/// account under the floor, even when a later entry of the same statement makes it good.
#[tokio::test]
async fn no_entry_of_a_group_takes_an_account_under_its_floor() {
    let ledger = ledger().await;
    let before = balances(&ledger).await;
    let out = || transfer(ledger.customer, ledger.capital, Decimal::new(5, 0));
    let back = || transfer(ledger.capital, ledger.customer, Decimal::TEN);
    let mut tx = ledger.pool.begin().await.unwrap();
    let error = data::transfers::post_transfers(&mut tx, &[out(), back()])
        .await
        .unwrap_err();
    assert_eq!(error.violation(), Some(&Violation::BalanceBelowFloor));
    drop(tx);
    assert_eq!(balances(&ledger).await, before, "nothing moved");

    // In the other order each entry stays above the floor, and each balance_after is the
    // balance after the entries before it.
    let mut tx = ledger.pool.begin().await.unwrap();
    data::transfers::post_transfers(&mut tx, &[back(), out()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let entries = data::testing::entries_of(&ledger.pool, "1000000001").await;
    assert_eq!(
        entries,
        vec![
            (Decimal::TEN, Decimal::TEN),
            (Decimal::new(-5, 0), Decimal::new(5, 0))
        ]
    );
    assert!(balances(&ledger).await.iter().all(|(_, b, sum)| b == sum));
}

/// Every transfer of a statement has its event, in the order the transfers were written.
#[tokio::test]
async fn a_group_of_transfers_writes_their_events_in_order() {
    let ledger = ledger().await;
    let group: Vec<NewTransfer<'static>> = (1..=5)
        .map(|n| transfer(ledger.capital, ledger.customer, Decimal::from(n)))
        .collect();
    let mut tx = ledger.pool.begin().await.unwrap();
    data::transfers::post_transfers(&mut tx, &group)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let events: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT subject_id, type, payload->>'amount' FROM events
         WHERE type LIKE 'transfer.%' ORDER BY written_seq",
    )
    .fetch_all(&ledger.pool)
    .await
    .unwrap();
    let expected: Vec<(Uuid, String, String)> = group
        .iter()
        .map(|t| {
            (
                t.id,
                "transfer.posted".to_owned(),
                format!("{}.00", t.amount),
            )
        })
        .collect();
    assert_eq!(events, expected);
}

#[tokio::test]
async fn ledger_entries_and_balances_cannot_be_rewritten() {
    let ledger = ledger().await;
    post(
        &ledger.pool,
        &transfer(ledger.capital, ledger.customer, Decimal::TEN),
    )
    .await
    .unwrap();
    for statement in [
        "UPDATE ledger_entries SET amount = amount * 2",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries CASCADE",
        "UPDATE accounts SET balance = 1000000",
        "DELETE FROM transfers",
        "UPDATE transfers SET amount = 1",
    ] {
        let error = sqlx::query(statement)
            .execute(&ledger.pool)
            .await
            .unwrap_err();
        assert!(
            matches!(error, sqlx::Error::Database(_)),
            "{statement}: {error}"
        );
    }
    let mut conn = ledger.pool.acquire().await.unwrap();
    assert!(
        data::transfers::unbalanced_transfers(&mut conn)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_tampered_audit_row_breaks_the_chain_where_it_was_changed() {
    let ledger = ledger().await;
    let mut conn = ledger.pool.acquire().await.unwrap();
    for n in 0..3 {
        data::audit::append(
            &mut conn,
            &data::audit::NewAuditRecord {
                actor_user_id: None,
                actor_service: Some("tests"),
                action: "customer.update",
                subject_type: "customer",
                subject_id: format!("c{n}"),
                before: None,
                after: Some(serde_json::json!({ "n": n })),
                request_id: None,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(
        data::audit::first_broken_link(&mut conn).await.unwrap(),
        None
    );
    let refused = sqlx::query("UPDATE audit_log SET after = '{}' WHERE id = 2")
        .execute(&mut *conn)
        .await;
    assert!(refused.is_err(), "the audit log is append-only");
    // A superuser can switch the guard off; the chain still tells.
    let mut superuser = sqlx::PgConnection::connect(&data::testing::superuser_url(&ledger.url))
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut superuser)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET after = '{\"n\": 9}' WHERE id = 2")
        .execute(&mut superuser)
        .await
        .unwrap();
    assert_eq!(
        data::audit::first_broken_link(&mut conn).await.unwrap(),
        Some(2)
    );
}

#[tokio::test]
async fn an_accounts_identity_never_changes_and_must_be_consistent_when_written() {
    let ledger = ledger().await;
    for statement in [
        "UPDATE accounts SET currency = 'USD' WHERE number = '1000000001'",
        "UPDATE accounts SET number = '1000000002' WHERE number = '1000000001'",
        "UPDATE accounts SET kind = 'internal' WHERE number = '1000000001'",
        "UPDATE accounts SET overdraft_limit = -5 WHERE number = '1000000001'",
        "UPDATE accounts SET overdraft_limit = 0.001 WHERE number = '1000000001'",
        "INSERT INTO accounts (id, number, kind, name, ledger, currency)
         VALUES (gen_random_uuid(), '1234', 'internal', 'x', 'vault_cash', 'USD')",
        "INSERT INTO accounts (id, number, kind, name, ledger, currency)
         VALUES (gen_random_uuid(), '1000000009', 'internal', 'x', 'vault_cash', 'USD')",
        "INSERT INTO accounts (id, number, kind, product, name, currency)
         VALUES (gen_random_uuid(), '1000000009', 'customer', 'current', 'x', 'EUR')",
    ] {
        let error = sqlx::query(statement)
            .execute(&ledger.pool)
            .await
            .unwrap_err();
        assert!(
            matches!(error, sqlx::Error::Database(_)),
            "{statement}: {error}"
        );
    }
    // What may change does; a freeze always says what it stops.
    sqlx::query("UPDATE accounts SET status = 'frozen' WHERE number = '1000000001'")
        .execute(&ledger.pool)
        .await
        .unwrap_err();
    sqlx::query(
        "UPDATE accounts SET status = 'frozen', freeze_scope = 'debits', name = 'Renamed'
         WHERE number = '1000000001'",
    )
    .execute(&ledger.pool)
    .await
    .unwrap();
    // A closed account never reopens.
    sqlx::query(
        "UPDATE accounts SET status = 'closed', freeze_scope = NULL WHERE number = '1000000001'",
    )
    .execute(&ledger.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE accounts SET status = 'open' WHERE number = '1000000001'")
        .execute(&ledger.pool)
        .await
        .unwrap_err();
}

#[tokio::test]
async fn housekeeping_forgets_only_what_has_expired() {
    let ledger = ledger().await;
    let mut conn = ledger.pool.acquire().await.unwrap();
    let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let future = time::OffsetDateTime::now_utc() + time::Duration::minutes(15);
    data::portal_sessions::save(&mut conn, &[1u8; 32], b"old", past)
        .await
        .unwrap();
    data::portal_sessions::save(&mut conn, &[2u8; 32], b"live", future)
        .await
        .unwrap();
    assert_eq!(
        data::portal_sessions::purge_expired(&mut conn)
            .await
            .unwrap(),
        1
    );
    assert!(
        data::portal_sessions::load(&mut conn, &[2u8; 32])
            .await
            .unwrap()
            .is_some()
    );
    data::users::take_sign_in_attempt(&mut conn, "someone", 900)
        .await
        .unwrap();
    assert_eq!(
        data::users::purge_sign_in_throttle(&mut conn, 900)
            .await
            .unwrap(),
        0,
        "recent"
    );
    assert_eq!(
        data::users::purge_sign_in_throttle(&mut conn, -1)
            .await
            .unwrap(),
        1,
        "stale"
    );
    // A unit's receipt: taken once, then found taken; forgotten only once old.
    let receipt = Uuid::new_v4();
    assert!(
        data::idempotency::take_receipt(&mut conn, receipt)
            .await
            .unwrap()
    );
    assert!(
        !data::idempotency::take_receipt(&mut conn, receipt)
            .await
            .unwrap()
    );
    assert_eq!(
        data::idempotency::purge_receipts(&mut conn, 60)
            .await
            .unwrap(),
        0,
        "recent"
    );
    assert_eq!(
        data::idempotency::purge_receipts(&mut conn, -1)
            .await
            .unwrap(),
        1,
        "old"
    );
}

/// The schema as a deployment of an earlier release has it: the migrations up to `last`, less
/// those added since that release (`added_since`).
async fn deployed(pool: &PgPool, last: i64, added_since: &[i64]) {
    let earlier: Vec<sqlx::migrate::Migration> = data::pool::MIGRATOR
        .iter()
        .filter(|m| m.version <= last && !added_since.contains(&m.version))
        .cloned()
        .collect();
    let migrator = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(earlier),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    migrator.run(pool).await.unwrap();
}

/// A database of an earlier release, holding the web tier's credential, upgrades to the current
/// schema; the credential survives as the web tier's. Three earlier states are tried: before the
/// service API; stuck after its first migration (where its second used to fail on the
/// credential); and with the whole service API applied, from a database that had no credential
/// when it was.
#[tokio::test]
async fn a_database_with_credentials_upgrades_to_the_current_schema() {
    for last in [20261122000002, 20261123000001, 20261123000002] {
        let db = data::testing::empty_database(2).await;
        deployed(&db.pool, last, &[20261122000003]).await;
        let id = Uuid::new_v4();
        let insert = if last < 20261123000002 {
            "INSERT INTO service_clients (id, name, key_hash) VALUES ($1, 'presentation', $2)"
        } else {
            "INSERT INTO service_clients (id, name, key_hash, acts_for_users)
             VALUES ($1, 'presentation', $2, true)"
        };
        sqlx::query(insert)
            .bind(id)
            .bind(vec![7u8; 32])
            .execute(&db.pool)
            .await
            .unwrap();
        data::pool::migrate(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("upgrade from {last}: {e}"));
        let (name, acts_for_users): (String, bool) =
            sqlx::query_as("SELECT name, acts_for_users FROM service_clients WHERE id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(name, "presentation");
        assert!(acts_for_users, "an earlier credential is the web tier's");
        let left: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('service_clients_set_aside')::text")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(left, None, "nothing set aside is left behind");
        // Running the migrations again changes nothing.
        data::pool::migrate(&db.pool).await.unwrap();
    }
}

#[tokio::test]
async fn a_session_that_stalls_inside_a_transaction_gives_up_its_locks() {
    let ledger = ledger().await;
    // A pool as the logic tier makes it, with a short limit for the test.
    let stalled_pool = data::pool::connect_lazy(
        &ledger.url,
        &data::pool::PoolSettings {
            idle_in_transaction_timeout_ms: 300,
            ..data::pool::PoolSettings::default()
        },
    )
    .unwrap();
    let mut stalled = stalled_pool.begin().await.unwrap();
    data::accounts::lock_accounts(&mut stalled, &[ledger.customer])
        .await
        .unwrap();
    // The holder stops sending statements, as a frozen process would. Another session waits for
    // the row no longer than the limit and a margin: it gets the lock.
    let mut other = ledger.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '5s'")
        .execute(&mut *other)
        .await
        .unwrap();
    data::accounts::lock_accounts(&mut other, &[ledger.customer])
        .await
        .expect("the stalled session's lock was released");
    other.rollback().await.unwrap();
    // The stalled session's transaction is gone: its next statement fails, and the failure is
    // one a unit of work retries.
    let error = data::accounts::lock_accounts(&mut stalled, &[ledger.customer])
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error}");
}

#[tokio::test]
async fn the_pool_never_runs_under_a_statement_timeout_whatever_the_database_says() {
    let ledger = ledger().await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&ledger.pool)
        .await
        .unwrap();
    let mut superuser = sqlx::PgConnection::connect(&data::testing::superuser_url(&ledger.url))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {database} SET statement_timeout = '1ms'"
    )))
    .execute(&mut superuser)
    .await
    .unwrap();
    let pool = data::pool::connect_lazy(&ledger.url, &data::pool::PoolSettings::default()).unwrap();
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(timeout, "0");
}

/// The logic tier's credential cannot rewrite the ledger's facts even with the triggers'
/// help removed: it may read and add to transfers, entries and the audit log, and nothing else;
/// no DDL anywhere. Every statement is refused for want of the privilege.
#[tokio::test]
async fn the_runtime_role_cannot_change_the_ledgers_facts_or_the_schema() {
    let ledger = ledger().await;
    let mut conn = ledger.pool.acquire().await.unwrap();
    let role: String = sqlx::query_scalar("SELECT current_user")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        role,
        data::testing::RUNTIME,
        "the pool logs in as the runtime role"
    );
    let mut refused = Vec::new();
    for (table, column) in [
        ("transfers", "memo"),
        ("ledger_entries", "amount"),
        ("audit_log", "after"),
        ("audit_checkpoints", "mac"),
    ] {
        for statement in [
            format!("UPDATE {table} SET {column} = {column}"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
            format!("ALTER TABLE {table} DISABLE TRIGGER ALL"),
            format!("ALTER TABLE {table} ADD COLUMN note text"),
            format!("DROP TABLE {table}"),
            format!(
                "CREATE TRIGGER sneak BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()"
            ),
            format!("ALTER TABLE {table} OWNER TO {}", data::testing::RUNTIME),
        ] {
            refused.push(statement);
        }
    }
    refused.extend([
        "CREATE TABLE shadow (id int)".to_owned(),
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'".to_owned(),
        "ALTER TABLE accounts DISABLE TRIGGER ALL".to_owned(),
        "SELECT setval('audit_log_id_seq', 1)".to_owned(),
        "UPDATE currencies SET minor_units = 0".to_owned(),
        "DELETE FROM accounts".to_owned(),
        "SET session_replication_role = replica".to_owned(),
        // No temporary objects: a temporary trigger once moved a balance past the guard, and a
        // temporary table named ledger_entries once fooled the balance check.
        "CREATE TEMP TABLE ledger_entries (transfer_id uuid, amount numeric)".to_owned(),
        "CREATE FUNCTION pg_temp.mint() RETURNS int LANGUAGE sql AS 'SELECT 1'".to_owned(),
        "CREATE TEMP SEQUENCE audit_log_id_seq".to_owned(),
        // The feed is the ledger's to write: no event of the runtime role's own, none rewritten.
        "INSERT INTO events (type, subject_id, payload) \
         VALUES ('transfer.posted', gen_random_uuid(), '{}')"
            .to_owned(),
        "UPDATE events SET payload = payload, type = type".to_owned(),
        // A checkpoint is dated by the database, not backdated by its writer.
        "INSERT INTO audit_checkpoints (audit_id, audit_hash, mac, taken_at) \
         VALUES (1, sha256(''), sha256(''), now() - interval '1 day')"
            .to_owned(),
        // No entry filed under an id of the writer's choosing.
        "INSERT INTO ledger_entries (id, transfer_id, account_id, currency, amount, balance_after) \
         OVERRIDING SYSTEM VALUE SELECT 1, gen_random_uuid(), gen_random_uuid(), 'EUR', 1, 1"
            .to_owned(),
    ]);
    for statement in refused {
        let error = sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut *conn)
            .await
            .expect_err(&statement);
        let code = error
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        // 42501 insufficient_privilege: refused for the privilege, not for some other reason.
        assert_eq!(code.as_deref(), Some("42501"), "{statement}: {error}");
    }
    // What it may do, it can: read and add.
    sqlx::query("SELECT count(*) FROM transfers")
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// The runtime role may give back a key's unfinished claim, as a group of postings does for the
/// requests it refused, but never forget a completed answer, nor empty the table.
#[tokio::test]
async fn a_completed_answer_is_never_deleted() {
    let ledger = ledger().await;
    let mut tx = ledger.pool.begin().await.unwrap();
    let principal = Uuid::new_v4();
    let (claimed, _) = data::idempotency::claim_many(
        &mut tx,
        &[
            (
                data::idempotency::KeyOf {
                    principal_id: principal,
                    key: "answered",
                },
                [1u8; 32].as_slice(),
            ),
            (
                data::idempotency::KeyOf {
                    principal_id: principal,
                    key: "refused",
                },
                [2u8; 32].as_slice(),
            ),
        ],
    )
    .await
    .unwrap();
    assert_eq!(claimed, vec![true, true]);
    let answered = data::idempotency::KeyOf {
        principal_id: principal,
        key: "answered",
    };
    let refused = data::idempotency::KeyOf {
        principal_id: principal,
        key: "refused",
    };
    data::idempotency::complete_many(&mut tx, &[(answered, 201, &serde_json::json!({}))])
        .await
        .unwrap();
    data::idempotency::release_many(&mut tx, &[answered, refused])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT idempotency_key FROM idempotency_records WHERE principal_id = $1",
    )
    .bind(principal)
    .fetch_all(&ledger.pool)
    .await
    .unwrap();
    assert_eq!(
        left,
        vec!["answered".to_owned()],
        "only the claim was given back"
    );
    // An unfinished claim is given back only by the transaction that made it.
    let mut other = ledger.pool.begin().await.unwrap();
    let orphan = data::idempotency::KeyOf {
        principal_id: principal,
        key: "orphan",
    };
    data::idempotency::claim_many(&mut other, &[(orphan, [3u8; 32].as_slice())])
        .await
        .unwrap();
    other.commit().await.unwrap();
    let mut tx = ledger.pool.begin().await.unwrap();
    let refused = data::idempotency::release_many(&mut tx, &[orphan]).await;
    assert!(refused.is_err(), "another transaction's claim was deleted");
    drop(tx);
    for statement in [
        "DELETE FROM idempotency_records",
        "TRUNCATE idempotency_records",
        "UPDATE idempotency_records SET response_status = NULL, response_body = NULL",
        "UPDATE idempotency_records SET response_body = '{\"id\": \"forged\"}'",
    ] {
        let error = sqlx::query(statement)
            .execute(&ledger.pool)
            .await
            .expect_err(statement);
        let code = error
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42501"), "{statement}: {error}");
    }
}

/// Every function of the schema fixes its search path with pg_temp last, so no caller's objects
/// stand in for the ledger's tables inside a trigger.
#[tokio::test]
async fn every_function_of_the_schema_fixes_its_search_path() {
    let ledger = ledger().await;
    let loose: Vec<String> = sqlx::query_scalar(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.prokind = 'f'
           AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, public, pg_temp']",
    )
    .fetch_all(&ledger.pool)
    .await
    .unwrap();
    assert!(
        loose.is_empty(),
        "functions without a fixed search path: {loose:?}"
    );
}

/// A posting waits for the lock of an account another transaction is placing a hold on; once
/// that commits, the posting sees the hold, so funds set aside are never spent by a transfer that
/// was already waiting for them. Each way of locking accounts is tried as the waiter.
#[tokio::test]
async fn a_lock_that_waited_sees_the_hold_placed_under_it() {
    let ledger = ledger().await;
    post(
        &ledger.pool,
        &transfer(ledger.capital, ledger.customer, Decimal::ONE_HUNDRED),
    )
    .await
    .unwrap();
    for round in 1..=3_i64 {
        let mut holder = data::testing::hold_account_lock(&ledger.url, "1000000001").await;
        sqlx::query(
            "INSERT INTO holds (id, account_id, amount, reason, expires_at)
             VALUES ($1, $2, 10, 'card authorisation', now() + interval '1 hour')",
        )
        .bind(Uuid::new_v4())
        .bind(ledger.customer)
        .execute(&mut holder)
        .await
        .unwrap();
        let pool = ledger.pool.clone();
        let (capital, customer) = (ledger.capital, ledger.customer);
        let waiting = tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            let rows = match round {
                1 => data::accounts::lock_accounts(&mut tx, &[capital, customer])
                    .await
                    .unwrap(),
                2 => data::accounts::lock_accounts_by_numbers(
                    &mut tx,
                    &["1000000001".to_owned(), "9000000001".to_owned()],
                )
                .await
                .unwrap(),
                _ => vec![
                    data::accounts::lock_account_by_number(&mut tx, "1000000001")
                        .await
                        .unwrap()
                        .unwrap(),
                ],
            };
            rows.into_iter().find(|a| a.id == customer).unwrap().held
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !waiting.is_finished(),
            "round {round}: the posting waits for the lock"
        );
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
        assert_eq!(
            waiting.await.unwrap(),
            Decimal::from(10 * round),
            "round {round}: every hold placed so far is seen"
        );
    }
}

/// The statement checks look a group's transfers up one by one through the index on
/// `transfer_id`, so what a group costs grows with the group, not with the ledger: posting 100
/// transfers into a ledger of 40,000 entries reads a few hundred of that index's entries, never
/// the whole index (a semi-join once planned as a merge over all of it, a second per group on a
/// ledger of 750,000 entries).
#[tokio::test]
async fn a_group_reads_its_own_transfers_not_the_whole_ledger() {
    let ledger = ledger().await;
    let group = || {
        (0..100)
            .map(|_| transfer(ledger.capital, ledger.customer, Decimal::ONE))
            .collect::<Vec<_>>()
    };
    let mut conn = ledger.pool.acquire().await.unwrap();
    for _ in 0..200 {
        let mut tx = conn.begin().await.unwrap();
        data::transfers::post_transfers(&mut tx, &group())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    drop(conn);
    // As the superuser, the only role that may force its statistics out at once.
    let mut superuser = sqlx::PgConnection::connect(&data::testing::superuser_url(&ledger.url))
        .await
        .unwrap();
    sqlx::query("ANALYZE ledger_entries")
        .execute(&mut superuser)
        .await
        .unwrap();
    async fn index_reads(conn: &mut sqlx::PgConnection) -> i64 {
        sqlx::query("SELECT pg_stat_force_next_flush()")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query_scalar(
            "SELECT idx_tup_read FROM pg_stat_user_indexes
             WHERE indexrelname = 'ledger_entries_transfer_idx'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap()
    }
    let before = index_reads(&mut superuser).await;
    let mut tx = superuser.begin().await.unwrap();
    data::transfers::post_transfers(&mut tx, &group())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let read = index_reads(&mut superuser).await - before;
    assert!(
        (200..2_000).contains(&read),
        "a group of 100 transfers read {read} entries of the index on transfer_id (its own: 200 to 2,000)"
    );
}

/// The offline check reads the feed against the ledger: an event rewritten, removed, repeated
/// or made up by someone who writes around the triggers (a superuser), and a position skipped,
/// are each found, naming the transfer.
#[tokio::test]
async fn a_feed_that_misreports_the_ledger_is_found_offline() {
    let ledger = ledger().await;
    let posted: Vec<NewTransfer> = (0..3)
        .map(|_| transfer(ledger.capital, ledger.customer, Decimal::TEN))
        .collect();
    for new in &posted {
        post(&ledger.pool, new).await.unwrap();
    }
    let mut tx = ledger.pool.begin().await.unwrap();
    data::events::sequence(&mut tx, 100).await.unwrap();
    tx.commit().await.unwrap();
    let found = || async {
        let mut conn = ledger.pool.acquire().await.unwrap();
        (
            data::events::misreported_subjects(&mut conn).await.unwrap(),
            data::events::missing_positions(&mut conn).await.unwrap(),
        )
    };
    assert_eq!(
        found().await,
        (Vec::new(), 0),
        "the feed says what happened"
    );

    let mut superuser = sqlx::PgConnection::connect(&data::testing::superuser_url(&ledger.url))
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut superuser)
        .await
        .unwrap();
    let [rewritten, removed, repeated] = [posted[0].id, posted[1].id, posted[2].id];
    let made_up = Uuid::new_v4();
    for (statement, subject) in [
        (
            "UPDATE events SET payload = jsonb_set(payload, '{amount}', '\"1000.00\"')
              WHERE subject_id = $1",
            rewritten,
        ),
        ("DELETE FROM events WHERE subject_id = $1", removed),
        (
            "INSERT INTO events (type, subject_id, payload, occurred_at)
             SELECT type, subject_id, payload, occurred_at FROM events WHERE subject_id = $1",
            repeated,
        ),
        (
            "INSERT INTO events (type, subject_id, payload)
             VALUES ('transfer.posted', $1, jsonb_build_object('transfer_id', $1::text))",
            made_up,
        ),
    ] {
        let done = sqlx::query(statement)
            .bind(subject)
            .execute(&mut superuser)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1, "{statement}");
    }
    let mut expected = vec![rewritten, removed, repeated, made_up];
    expected.sort();
    // The removed event had its position: a reader resuming after the one before misses it.
    assert_eq!(found().await, (expected, 1));
}

/// The runtime role gives unsequenced events their positions only in turn: right after the
/// feed's last, in the order written, stamped now. Not the largest bigint (which would stop the
/// sequencer for good), not out of order, not backdated. The offline check reads the feed in
/// UTC whatever its own session's time zone.
#[tokio::test]
async fn the_feed_is_sequenced_in_turn() {
    let ledger = ledger().await;
    let mut conn = ledger.pool.acquire().await.unwrap();
    for _ in 0..2 {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        data::transfers::post_transfer(
            &mut tx,
            &transfer(ledger.capital, ledger.customer, Decimal::TEN),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    for statement in [
        "UPDATE events SET position = 9223372036854775807, sequenced_at = now()
          WHERE position IS NULL AND written_seq = (SELECT min(written_seq) FROM events
                                                     WHERE position IS NULL)",
        "UPDATE events SET position = 1, sequenced_at = '1999-01-01'
          WHERE position IS NULL AND written_seq = (SELECT min(written_seq) FROM events
                                                     WHERE position IS NULL)",
        "UPDATE events e SET position = x.p, sequenced_at = now()
           FROM (SELECT id, row_number() OVER (ORDER BY written_seq DESC) AS p
                   FROM events WHERE position IS NULL) AS x
          WHERE e.id = x.id",
    ] {
        let error = sqlx::query(statement)
            .execute(&mut *conn)
            .await
            .expect_err(statement);
        assert_eq!(
            constraint_of(&error).as_deref(),
            Some("events_sequenced_in_turn"),
            "{statement}: {error}"
        );
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    let sequenced = data::events::sequence(&mut tx, 100).await.unwrap();
    tx.commit().await.unwrap();
    assert!(sequenced >= 2, "the sequencer still sequences");
    sqlx::query("SET TimeZone = 'Pacific/Chatham'")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(data::events::missing_positions(&mut conn).await.unwrap(), 0);
    assert_eq!(
        data::events::misreported_subjects(&mut conn).await.unwrap(),
        Vec::<Uuid>::new(),
        "read from Chatham's time zone, the feed is the ledger"
    );
}

/// The ids the database mints itself (events, payees, sign-in challenges) are UUIDs of version 7:
/// the time of minting in their first 48 bits, so each new row's index entry goes to the
/// rightmost leaf, and random bits after it, so no two are alike.
#[tokio::test]
async fn the_database_mints_its_ids_in_time_order() {
    let ledger = ledger().await;
    let (ids, before, after): (Vec<Uuid>, i64, i64) = sqlx::query_as(
        "WITH t0 AS (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms),
              ids AS (SELECT array_agg(uuid_v7() ORDER BY n) AS ids FROM generate_series(1, 500) n)
         SELECT ids.ids, t0.ms, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint
           FROM t0, ids",
    )
    .fetch_one(&ledger.pool)
    .await
    .unwrap();
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "two ids alike");
    for id in &ids {
        assert_eq!(id.get_version_num(), 7, "{id}");
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{id}");
        let bytes = id.as_bytes();
        let ms = bytes[..6]
            .iter()
            .fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
        assert!(
            before <= ms && ms <= after,
            "{id}: {ms} not in {before}..={after}"
        );
    }
    // A millisecond later, every new id sorts after the earlier ones.
    sqlx::query("SELECT pg_sleep(0.002)")
        .execute(&ledger.pool)
        .await
        .unwrap();
    let later: Uuid = sqlx::query_scalar("SELECT uuid_v7()")
        .fetch_one(&ledger.pool)
        .await
        .unwrap();
    assert!(
        ids.iter().all(|id| *id < later),
        "{later} sorts before an earlier id"
    );
    let default: String = sqlx::query_scalar(
        "SELECT column_default FROM information_schema.columns
          WHERE table_name = 'events' AND column_name = 'id'",
    )
    .fetch_one(&ledger.pool)
    .await
    .unwrap();
    assert_eq!(default, "uuid_v7()");
}

#[tokio::test]
async fn the_database_keeps_the_last_four_passwords_and_the_runtime_only_reads_them() {
    let ledger = ledger().await;
    let mut conn = ledger.pool.acquire().await.unwrap();
    let id = Uuid::now_v7();
    data::users::insert_user(
        &mut conn,
        &data::users::NewUser {
            id,
            username: "hana",
            password_hash: "$argon2id$first",
            role: data::users::Role::Teller,
            customer_id: None,
            password_change_due: true,
        },
    )
    .await
    .unwrap();
    for n in ["second", "third", "fourth", "fifth", "sixth"] {
        data::users::set_password_hash(&mut conn, id, &format!("$argon2id${n}"))
            .await
            .unwrap();
    }
    // A reset by staff is filed like any other change; setting the same hash again is none.
    data::users::reset_sign_in(&mut conn, id, "$argon2id$at-the-counter")
        .await
        .unwrap();
    data::users::set_password_hash(&mut conn, id, "$argon2id$at-the-counter")
        .await
        .unwrap();
    assert_eq!(
        data::users::previous_password_hashes(&mut conn, id)
            .await
            .unwrap(),
        [
            "$argon2id$sixth",
            "$argon2id$fifth",
            "$argon2id$fourth",
            "$argon2id$third"
        ]
    );
    for statement in [
        "DELETE FROM password_history",
        "UPDATE password_history SET password_hash = '$argon2id$planted'",
        "INSERT INTO password_history (user_id, password_hash)
         SELECT id, '$argon2id$planted' FROM users",
    ] {
        let refused = sqlx::query(statement)
            .execute(&mut *conn)
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&refused).as_deref(), Some("42501"), "{statement}");
    }
}
