//! The demo bank that `deploy/local/up` seeds: a vault with cash, staff of every role and a few
//! customers with accounts and balances, so a new user can sign in and move money at once.
//! Customers are onboarded and paid in through the same rules as any other, by the demo teller.

use anyhow::{Context, Result};
use data::accounts::{AccountKind, InternalLedger, NewAccount, NormalSide, Product};
use data::transfers::{NewTransfer, TransferKind};
use data::users::Role;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounts::Opening;
use crate::auth::SessionUser;
use crate::customers::{DocumentKind, IdentityFields, Onboarding};
use crate::domain::{AccountNumber, Amount, Currency};
use crate::idempotency::IdempotencyKey;
use crate::identity::FirstPassword;
use crate::posting::{Actor, Movement, Order};
use crate::state::AppState;

/// Demo sign-ins: (username, password, role). Printed by `deploy/local/up`; for a local demo only.
pub const DEMO_SIGN_INS: [(&str, &str, &str); 7] = [
    ("alice", "alice-demo-pass", "customer"),
    ("bob", "bob-demo-password", "customer"),
    ("chloe", "chloe-demo-pass", "customer"),
    ("tom.teller", "teller-demo-pass", "teller"),
    ("sue.supervisor", "supervisor-demo-pass", "supervisor"),
    ("sam.supervisor", "supervisor2-demo-pass", "supervisor"),
    ("ada.admin", "admin-demo-pass", "admin"),
];

/// Cash the vault opens with.
const VAULT_OPENING_CASH: i64 = 500_000;

/// Seeds the demo bank unless the database already has users. Returns whether it seeded.
pub async fn seed_demo(state: &AppState) -> Result<bool> {
    let mut conn = state.pool.acquire().await?;
    if data::users::count_users(&mut conn).await? > 0 {
        return Ok(false);
    }
    drop(conn);

    let mut tx = state.pool.begin().await?;
    let vault = internal_account(&mut tx, InternalLedger::VaultCash, "Branch vault cash").await?;
    let capital = internal_account(&mut tx, InternalLedger::Capital, "Share capital").await?;
    internal_account(
        &mut tx,
        InternalLedger::OverShort,
        "Cash over and short, EUR",
    )
    .await?;
    let opening = NewTransfer {
        id: Uuid::now_v7(),
        idempotency_key: "seed-opening-cash",
        kind: TransferKind::OpeningCash,
        amount: Decimal::from(VAULT_OPENING_CASH),
        currency: "EUR",
        debit_account_id: vault,
        credit_account_id: capital,
        memo: "Opening cash of the branch vault",
        initiated_by: None,
        reverses_transfer_id: None,
        request_id: Some("seed-demo"),
        batch_id: None,
    };
    let mut ids = [vault, capital];
    ids.sort();
    data::accounts::lock_accounts(&mut tx, &ids).await?;
    crate::posting::post_internal(&mut tx, &opening, || {
        crate::error::ApiError::Internal("the vault cannot hold its opening cash".into())
    })
    .await?;
    let mut staff = Vec::new();
    for (username, password, role) in &DEMO_SIGN_INS[3..] {
        let role = match *role {
            "teller" => Role::Teller,
            "supervisor" => Role::Supervisor,
            _ => Role::Admin,
        };
        let id = crate::identity::new_user(
            &mut tx,
            username,
            ((*password).to_owned(), FirstPassword::Published),
            role,
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("create {username}: {e}"))?;
        staff.push(SessionUser {
            session_id: Uuid::nil(),
            user_id: id,
            username: (*username).to_owned(),
            role,
            customer_id: None,
            expires_at: time::OffsetDateTime::now_utc(),
            scopes: Vec::new(),
            password_change_due: false,
            second_factor_due: false,
        });
    }
    tx.commit().await?;
    let teller = &staff[0];
    let (supervisor, second_supervisor) = (&staff[1], &staff[2]);

    let customers = [
        (
            "Alice Martin",
            "alice@example.org",
            "+44 20 7946 0001",
            (1988, 4, 12),
            0usize,
        ),
        (
            "Bob Okafor",
            "bob@example.org",
            "+44 20 7946 0002",
            (1975, 11, 3),
            1,
        ),
        (
            "Chloé Dubois",
            "chloe@example.org",
            "+33 1 23 45 67 89",
            (1995, 7, 28),
            2,
        ),
    ];
    let addresses = [
        (
            "12 Harbour Street, Leeds LS1 4AB",
            ("P1234567", DocumentKind::Passport, "GB", (2031, 4, 11)),
        ),
        (
            "3 Mill Lane, Bristol BS1 5TR",
            ("P7654321", DocumentKind::Passport, "GB", (2029, 10, 2)),
        ),
        (
            "8 rue des Lilas, 75011 Paris",
            (
                "ID-FR-0928374",
                DocumentKind::NationalId,
                "FR",
                (2033, 7, 27),
            ),
        ),
    ];
    // The opening deposits are paid in at the demo teller's counter: a drawer opened for them and
    // counted back into the vault once they are in.
    let actor = Actor {
        user: teller,
        request_id: Some("seed-demo"),
    };
    let drawer = crate::drawers::open(
        state,
        actor,
        &IdempotencyKey::parse("seed-drawer-open").map_err(|e| anyhow::anyhow!("{e}"))?,
        Currency::Eur,
        "0",
    )
    .await
    .map_err(|e| anyhow::anyhow!("open the demo drawer: {e}"))?;
    let drawer_id: Uuid = drawer.body["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .context("the drawer's id")?;
    let mut paid_in = Decimal::ZERO;
    let mut key_counter = 0;
    for (
        (name, email, phone, (year, month, day), login),
        (address, (document, kind, country, (expiry_year, expiry_month, expiry_day))),
    ) in customers.into_iter().zip(addresses)
    {
        let (username, password, _) = DEMO_SIGN_INS[login];
        let born = time::Date::from_calendar_date(year, time::Month::try_from(month)?, day)?;
        let identity = IdentityFields {
            full_name: name.into(),
            email: email.into(),
            phone: Some(phone.into()),
            date_of_birth: Some(born),
            address: Some(address.into()),
            id_document: Some(document.into()),
            id_document_kind: Some(kind),
            id_document_country: Some(country.into()),
            id_document_expires: Some(time::Date::from_calendar_date(
                expiry_year,
                time::Month::try_from(expiry_month)?,
                expiry_day,
            )?),
        };
        let onboarding = Onboarding {
            first_password: FirstPassword::Published,
            ..Onboarding::parse(&identity, Some((username, password.into())))
                .map_err(|e| anyhow::anyhow!("{e}"))?
        };
        let customer = crate::customers::onboard(state, teller, Some("seed-demo"), &onboarding)
            .await
            .map_err(|e| anyhow::anyhow!("onboard {name}: {e}"))?;
        let accounts: &[(Product, &str, Option<&str>, &str, &SessionUser)] = match login {
            0 => &[
                (
                    Product::Current,
                    "Everyday account",
                    None,
                    "2500.00",
                    teller,
                ),
                (
                    Product::Savings,
                    "Rainy-day savings",
                    None,
                    "10000.00",
                    teller,
                ),
            ],
            1 => &[(Product::Current, "Current account", None, "1200.00", teller)],
            _ => &[(
                Product::Current,
                "Current account",
                Some("500.00"),
                "800.00",
                supervisor,
            )],
        };
        for (product, account_name, overdraft, deposit, opener) in accounts {
            let opening = Opening::parse(customer.id, *product, "EUR", Some(account_name), None)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let account = crate::accounts::open(state, opener, Some("seed-demo"), &opening)
                .await
                .map_err(|e| anyhow::anyhow!("open an account for {name}: {e}"))?;
            if let Some(limit) = overdraft {
                // Lending takes two people here as anywhere: one supervisor asks, another approves.
                let number =
                    AccountNumber::parse(&account.number).map_err(|e| anyhow::anyhow!("{e}"))?;
                let filed = crate::approvals::file_overdraft_limit(
                    state,
                    Actor {
                        user: opener,
                        request_id: Some("seed-demo"),
                    },
                    &number,
                    limit,
                    "Arranged overdraft at opening",
                )
                .await
                .map_err(|e| anyhow::anyhow!("ask for {name}'s overdraft: {e}"))?;
                crate::approvals::decide(
                    state,
                    second_supervisor,
                    filed.id,
                    crate::approvals::Decision::Approve,
                    "",
                    Some("seed-demo"),
                )
                .await
                .map_err(|e| anyhow::anyhow!("approve {name}'s overdraft: {e}"))?;
            }
            key_counter += 1;
            let order = Order {
                movement: Movement::CashDeposit {
                    account: AccountNumber::parse(&account.number)
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                },
                amount: Amount::parse(deposit, Currency::Eur)?,
                memo: "Opening deposit".into(),
            };
            paid_in += order.amount.value();
            let key = IdempotencyKey::parse(&format!("seed-deposit-{key_counter}"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::orders::post(
                state,
                Actor {
                    user: teller,
                    request_id: Some("seed-demo"),
                },
                &key,
                &order,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("opening deposit for {name}: {e}"))?;
        }
    }
    let fifties = u32::try_from(paid_in / Decimal::from(50))
        .context("the opening deposits are whole fifties")?;
    crate::drawers::close(
        state,
        actor,
        &IdempotencyKey::parse("seed-drawer-close").map_err(|e| anyhow::anyhow!("{e}"))?,
        drawer_id,
        &[("50.00".to_owned(), fifties)].into_iter().collect(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("close the demo drawer: {e}"))?;
    Ok(true)
}

async fn internal_account(
    conn: &mut data::PgConnection,
    ledger: InternalLedger,
    name: &str,
) -> Result<Uuid> {
    let (normal_side, floor_enforced) = match ledger {
        InternalLedger::VaultCash => (NormalSide::Debit, true),
        InternalLedger::Capital => (NormalSide::Credit, false),
        InternalLedger::OverShort => (NormalSide::Debit, false),
        InternalLedger::TellerDrawer => (NormalSide::Debit, true),
    };
    let number = crate::domain::account_number::random_internal();
    let row = data::accounts::insert_account(
        conn,
        &NewAccount {
            id: Uuid::now_v7(),
            number: number.as_str(),
            kind: AccountKind::Internal,
            product: None,
            name,
            customer_id: None,
            ledger: Some(ledger),
            currency: "EUR",
            normal_side,
            overdraft_limit: Decimal::ZERO,
            floor_enforced,
        },
    )
    .await
    .with_context(|| format!("create the {name} account"))?;
    Ok(row.id)
}
