//! The teller and back-office rules: freezes, closing, holds, four-eyes approval, reversals,
//! daily limits, and the audit log's search and verification.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::{ADMIN, AppOptions, SUPERVISOR, SUPERVISOR2, TELLER, TestApp, problem_code};
use logic::audit::{Anchored, anchor, anchor_from_start};

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn account_view(app: &TestApp, staff: &str, number: &str) -> Value {
    json_of(app.get(&format!("/v1/accounts/{number}"), staff).await).await
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    app.request(method, path, Some(token))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn freezes_stop_the_movements_they_name_and_only_supervisors_lift_them() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "100").await;
    let to = app.account(&teller, &bob, "100").await;
    let response = app
        .post(
            &format!("/v1/accounts/{from}/freeze"),
            &teller,
            &json!({ "scope": "debits", "reason": "Suspected fraud" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let frozen = json_of(response).await;
    assert_eq!(frozen["status"], "frozen");
    assert_eq!(frozen["freeze_scope"], "debits");
    let out = app.transfer(&alice.token, "out", &from, &to, "10").await;
    assert_eq!(problem_code(out).await, "account_not_open");
    // Money may still come in.
    let incoming = app.transfer(&bob.token, "in", &to, &from, "10").await;
    assert_eq!(incoming.status(), StatusCode::CREATED);
    let response = app
        .post(
            &format!("/v1/accounts/{from}/unfreeze"),
            &teller,
            &json!({ "reason": "Cleared" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .post(
            &format!("/v1/accounts/{from}/unfreeze"),
            &supervisor,
            &json!({ "reason": "Cleared" }),
        )
        .await;
    assert_eq!(json_of(response).await["status"], "open");
    let out = app.transfer(&alice.token, "out2", &from, &to, "10").await;
    assert_eq!(out.status(), StatusCode::CREATED);
    // A freeze of credits refuses money coming in.
    app.post(
        &format!("/v1/accounts/{to}/freeze"),
        &teller,
        &json!({ "scope": "credits", "reason": "Court order" }),
    )
    .await;
    let incoming = app.transfer(&alice.token, "in2", &from, &to, "1").await;
    assert_eq!(problem_code(incoming).await, "account_not_open");
    // Every change is audited with before and after.
    let audit = json_of(
        app.get(
            &format!("/v1/audit?account={from}&action=account."),
            &supervisor,
        )
        .await,
    )
    .await;
    let records = audit["records"].as_array().unwrap();
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["account.unfreeze", "account.freeze", "account.open"]
    );
    assert_eq!(records[1]["before"]["status"], "open");
    assert_eq!(records[1]["after"]["status"], "frozen");
    assert!(records[1]["request_id"].is_string());
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn an_account_closes_only_at_zero() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "25").await;
    let close = |reason: &'static str| {
        let path = format!("/v1/accounts/{account}/close");
        let teller = teller.clone();
        let app = &app;
        async move { app.post(&path, &teller, &json!({ "reason": reason })).await }
    };
    assert_eq!(
        problem_code(close("Customer leaves").await).await,
        "balance_not_zero"
    );
    let response = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &teller,
            "payout",
            &json!({ "account": account, "amount": "25", "currency": "EUR" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let closed = json_of(close("Customer leaves").await).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["status_reason"], "Customer leaves");
    let response = app
        .post_idempotent(
            "/v1/cash/deposits",
            &teller,
            "after",
            &json!({ "account": account, "amount": "1", "currency": "EUR" }),
        )
        .await;
    assert_eq!(problem_code(response).await, "account_not_open");
    assert_eq!(problem_code(close("Again").await).await, "account_closed");
}

/// Places a hold of `amount` on `account` for three days, as a teller; the answer.
async fn hold_for_three_days(
    app: &TestApp,
    teller: &str,
    account: &str,
    amount: &str,
) -> reqwest::Response {
    let until = time::OffsetDateTime::now_utc() + time::Duration::days(3);
    let until = until
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    app.post(
        &format!("/v1/accounts/{account}/holds"),
        teller,
        &json!({ "amount": amount, "reason": "Card authorisation", "expires_at": until }),
    )
    .await
}

/// One field of each hold on `account`, as the teller's list shows them.
async fn holds_of(app: &TestApp, teller: &str, account: &str, field: &str) -> Vec<String> {
    let holds = json_of(
        app.get(&format!("/v1/accounts/{account}/holds"), teller)
            .await,
    )
    .await;
    holds["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[field].as_str().unwrap().to_owned())
        .collect()
}

/// A unit without an idempotency key whose COMMIT's answer is lost (the connection cut as the
/// database commits) runs again, as every unit does after a transient failure, but is not done
/// twice: placing a hold, the teller sees it placed once, and the money is held once.
#[tokio::test]
async fn a_hold_whose_commit_went_unanswered_is_placed_once() {
    let app = TestApp::spawn_with(AppOptions {
        cut_commits: true,
        ..AppOptions::default()
    })
    .await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "100").await;
    let cutter = app.cutter.as_ref().unwrap();
    cutter.arm("INSERT INTO holds");
    let hold = hold_for_three_days(&app, &teller, &account, "70").await;
    assert_eq!(cutter.cuts(), 1, "the hold's COMMIT was answered");
    assert_eq!(hold.status(), StatusCode::CREATED);
    let hold = json_of(hold).await;
    let view = account_view(&app, &teller, &account).await;
    assert_eq!(view["available_balance"], "30.00", "held once: {view}");
    assert_eq!(
        holds_of(&app, &teller, &account, "id").await,
        [hold["id"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn holds_reduce_the_available_balance_until_released_or_expired() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let account = app.account(&teller, &alice, "100").await;
    let other = app.account(&teller, &bob, "0").await;
    let hold = hold_for_three_days(&app, &teller, &account, "70").await;
    assert_eq!(hold.status(), StatusCode::CREATED);
    let hold = json_of(hold).await;
    let view = account_view(&app, &teller, &account).await;
    assert_eq!(view["ledger_balance"], "100.00");
    assert_eq!(view["available_balance"], "30.00");
    let refused = app
        .transfer(&alice.token, "t1", &account, &other, "31")
        .await;
    assert_eq!(problem_code(refused).await, "insufficient_funds");
    let released = app
        .post(
            &format!("/v1/holds/{}/release", hold["id"].as_str().unwrap()),
            &teller,
            &json!({}),
        )
        .await;
    assert_eq!(json_of(released).await["state"], "released");
    assert_eq!(
        account_view(&app, &teller, &account).await["available_balance"],
        "100.00"
    );
    // A hold that expires releases itself.
    let in_a_moment = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(1500);
    let response = app
        .post(
            &format!("/v1/accounts/{account}/holds"),
            &teller,
            &json!({ "amount": "50", "reason": "Short hold", "expires_at": in_a_moment.format(&time::format_description::well_known::Rfc3339).unwrap() }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        account_view(&app, &teller, &account).await["available_balance"],
        "50.00"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    assert_eq!(
        account_view(&app, &teller, &account).await["available_balance"],
        "100.00"
    );
    assert_eq!(
        holds_of(&app, &teller, &account, "state").await,
        ["expired", "released"]
    );
    // A hold larger than what is available is refused.
    let response = hold_for_three_days(&app, &teller, &account, "100.01").await;
    assert_eq!(problem_code(response).await, "insufficient_funds");
}

/// The reversal flow end to end: filed by a teller, the funds held, the maker unable to approve,
/// a supervisor approving, the original untouched and a second reversal refused.
#[tokio::test]
async fn a_reversal_needs_a_different_supervisor_and_happens_once() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let other_supervisor = app.sign_in(SUPERVISOR2).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "100").await;
    let to = app.account(&teller, &bob, "0").await;
    let transfer = json_of(app.transfer(&alice.token, "pay", &from, &to, "40").await).await;
    let transfer_id = transfer["id"].as_str().unwrap();
    let path = format!("/v1/transfers/{transfer_id}/reversals");
    let filed = app
        .post_idempotent(
            &path,
            &supervisor,
            "rev-1",
            &json!({ "reason": "Paid in error" }),
        )
        .await;
    assert_eq!(filed.status(), StatusCode::ACCEPTED);
    let filed = json_of(filed).await;
    assert_eq!(filed["status"], "pending");
    let approval = filed["id"].as_str().unwrap().to_owned();
    // The funds wait, held on the account the reversal will debit.
    assert_eq!(
        account_view(&app, &teller, &to).await["available_balance"],
        "0.00"
    );
    assert_eq!(
        account_view(&app, &teller, &to).await["ledger_balance"],
        "40.00"
    );
    // The same request again is the same answer; a second reversal request is refused.
    let replay = app
        .post_idempotent(
            &path,
            &supervisor,
            "rev-1",
            &json!({ "reason": "Paid in error" }),
        )
        .await;
    assert_eq!(json_of(replay).await["id"], approval.as_str());
    let second = app
        .post_idempotent(&path, &teller, "rev-2", &json!({ "reason": "Again" }))
        .await;
    assert_eq!(problem_code(second).await, "reversal_pending");
    // The maker cannot approve, nor can a teller or the customer.
    let approve = format!("/v1/approvals/{approval}/approve");
    for (token, code) in [
        (&supervisor, "own_request"),
        (&teller, "forbidden"),
        (&alice.token, "forbidden"),
    ] {
        let response = app.post(&approve, token, &json!({})).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(problem_code(response).await, code);
    }
    // Nor by writing to the database directly.
    let mut conn = app.state.pool.acquire().await.unwrap();
    let maker = data::users::find_user_by_username(&mut conn, SUPERVISOR.0)
        .await
        .unwrap()
        .unwrap();
    let direct = data::approvals::decide(
        &mut conn,
        approval.parse().unwrap(),
        data::approvals::ApprovalStatus::Approved,
        Some(maker.id),
        "myself",
        None,
    )
    .await;
    assert!(direct.is_err(), "the database let the maker approve");
    drop(conn);
    let queue = json_of(
        app.get("/v1/approvals?status=pending", &other_supervisor)
            .await,
    )
    .await;
    assert_eq!(queue["approvals"].as_array().unwrap().len(), 1);
    let approved = app
        .post(&approve, &other_supervisor, &json!({ "note": "Checked" }))
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved = json_of(approved).await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["checker"], SUPERVISOR2.0);
    let reversal_id = approved["transfer_id"].as_str().unwrap();
    let reversal = json_of(
        app.get(&format!("/v1/transfers/{reversal_id}"), &teller)
            .await,
    )
    .await;
    assert_eq!(reversal["kind"], "reversal");
    assert_eq!(reversal["reverses_transfer_id"], transfer_id);
    assert_eq!(reversal["debit_account"], to.as_str());
    assert_eq!(
        account_view(&app, &teller, &from).await["ledger_balance"],
        "100.00"
    );
    let to_view = account_view(&app, &teller, &to).await;
    assert_eq!(to_view["ledger_balance"], "0.00");
    assert_eq!(to_view["held_amount"], "0.00");
    // The original stays; it cannot be reversed twice.
    let original = json_of(
        app.get(&format!("/v1/transfers/{transfer_id}"), &teller)
            .await,
    )
    .await;
    assert_eq!(original["kind"], "transfer");
    let again = app
        .post_idempotent(&path, &teller, "rev-3", &json!({ "reason": "Twice" }))
        .await;
    assert_eq!(problem_code(again).await, "already_reversed");
    // Deciding again: the same supervisor gets the same answer, another a conflict.
    let repeat = app
        .post(&approve, &other_supervisor, &json!({ "note": "Checked" }))
        .await;
    assert_eq!(repeat.status(), StatusCode::OK);
    let third = app.sign_in(SUPERVISOR).await;
    // A rejection without a reason is refused before anything else.
    let unexplained = app
        .post(
            &format!("/v1/approvals/{approval}/reject"),
            &third,
            &json!({ "note": "  " }),
        )
        .await;
    assert_eq!(unexplained.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_code(unexplained).await, "invalid_field");
    let reject = app
        .post(
            &format!("/v1/approvals/{approval}/reject"),
            &third,
            &json!({ "note": "Not the customer's wish" }),
        )
        .await;
    assert_eq!(reject.status(), StatusCode::FORBIDDEN);
    let audit = json_of(
        app.get(&format!("/v1/audit?account={to}"), &supervisor)
            .await,
    )
    .await;
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"transfer.reverse"), "{actions:?}");
    assert!(actions.contains(&"approval.approve"), "{actions:?}");
    assert!(actions.contains(&"approval.request"), "{actions:?}");
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn a_tellers_cash_above_the_threshold_waits_for_a_supervisor() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let admin = app.sign_in(ADMIN).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "900").await;
    let response = send(
        &app,
        Method::PUT,
        "/v1/admin/limits/EUR",
        &admin,
        &json!({ "approval_threshold": "500", "daily_transfer_limit": "5000" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let drawer = app.open_drawer(&teller).await;
    app.post_idempotent(
        &format!("/v1/drawers/{drawer}/vault-transfers"),
        &teller,
        "float",
        &json!({ "direction": "to_drawer", "amount": "1000" }),
    )
    .await;
    let snapshot_transfers = app.snapshot().await.transfers;
    let withdrawal = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &teller,
            "big-out",
            &json!({ "account": account, "amount": "600", "currency": "EUR", "memo": "Car" }),
        )
        .await;
    assert_eq!(withdrawal.status(), StatusCode::ACCEPTED);
    let withdrawal = json_of(withdrawal).await;
    assert_eq!(withdrawal["kind"], "cash_withdrawal");
    assert_eq!(app.snapshot().await.transfers, snapshot_transfers);
    let view = account_view(&app, &teller, &account).await;
    assert_eq!(view["available_balance"], "300.00");
    // The held funds are not spendable meanwhile.
    let refused = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &teller,
            "small-out",
            &json!({ "account": account, "amount": "301", "currency": "EUR" }),
        )
        .await;
    assert_eq!(problem_code(refused).await, "insufficient_funds");
    // The customer's and account's pending list shows it.
    let pending = json_of(
        app.get(
            &format!("/v1/approvals?status=pending&account={account}"),
            &teller,
        )
        .await,
    )
    .await;
    assert_eq!(pending["approvals"].as_array().unwrap().len(), 1);
    // Its hold is released by the decision, never by hand.
    let hold = withdrawal["hold_id"].as_str().unwrap();
    let by_hand = app
        .post(&format!("/v1/holds/{hold}/release"), &teller, &json!({}))
        .await;
    assert_eq!(problem_code(by_hand).await, "hold_guards_approval");
    let rejected = app
        .post(
            &format!(
                "/v1/approvals/{}/reject",
                withdrawal["id"].as_str().unwrap()
            ),
            &supervisor,
            &json!({ "note": "Customer not present" }),
        )
        .await;
    assert_eq!(json_of(rejected).await["status"], "rejected");
    assert_eq!(
        account_view(&app, &teller, &account).await["available_balance"],
        "900.00"
    );
    assert_eq!(app.snapshot().await.transfers, snapshot_transfers);
    // Approved, it posts against the teller's drawer.
    let deposit = json_of(
        app.post_idempotent(
            "/v1/cash/deposits",
            &teller,
            "big-in",
            &json!({ "account": account, "amount": "700", "currency": "EUR" }),
        )
        .await,
    )
    .await;
    assert_eq!(deposit["status"], "pending");
    let approved = app
        .post(
            &format!("/v1/approvals/{}/approve", deposit["id"].as_str().unwrap()),
            &supervisor,
            &json!({}),
        )
        .await;
    assert_eq!(json_of(approved).await["status"], "approved");
    assert_eq!(
        account_view(&app, &teller, &account).await["ledger_balance"],
        "1600.00"
    );
    let drawer_view = json_of(app.get(&format!("/v1/drawers/{drawer}"), &teller).await).await;
    assert_eq!(drawer_view["position"], "2600.00");
    // A supervisor's own cash above the threshold posts at once.
    app.open_drawer(&supervisor).await;
    let own = app
        .post_idempotent(
            "/v1/cash/deposits",
            &supervisor,
            "sup-in",
            &json!({ "account": account, "amount": "700", "currency": "EUR" }),
        )
        .await;
    assert_eq!(own.status(), StatusCode::CREATED);
    app.assert_ledger_sound().await;
}

/// One overdraft change waits at a time: a second, filed against the same limit as the first,
/// would be approved as it reads ("250 to 0") after the first had moved the limit, and could
/// grant credit while reading as a cut.
#[tokio::test]
async fn one_overdraft_change_waits_at_a_time() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "50").await;
    let overdraft = format!("/v1/accounts/{account}/overdraft-limit");
    let granted = json_of(
        app.post(
            &overdraft,
            &teller,
            &json!({ "limit": "250", "reason": "Salary account" }),
        )
        .await,
    )
    .await;
    let approved = app
        .post(
            &format!("/v1/approvals/{}/approve", granted["id"].as_str().unwrap()),
            &supervisor,
            &json!({}),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let cut = app
        .post(
            &overdraft,
            &teller,
            &json!({ "limit": "100", "reason": "Cut" }),
        )
        .await;
    assert_eq!(cut.status(), StatusCode::ACCEPTED);
    let second = app
        .post(
            &overdraft,
            &supervisor,
            &json!({ "limit": "0.00", "reason": "Remove" }),
        )
        .await;
    assert_eq!(problem_code(second).await, "approval_pending");
    let cut = json_of(cut).await;
    let supervisor2 = app.sign_in(SUPERVISOR2).await;
    let rejected = app
        .post(
            &format!("/v1/approvals/{}/reject", cut["id"].as_str().unwrap()),
            &supervisor2,
            &json!({ "note": "Not asked" }),
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    // Once it is decided the next may be filed; no overdraft, however it is written, is zero.
    let removal = app
        .post(
            &overdraft,
            &supervisor,
            &json!({ "limit": "0.00", "reason": "Remove" }),
        )
        .await;
    assert_eq!(removal.status(), StatusCode::ACCEPTED);
    let removal = json_of(removal).await;
    assert!(
        removal["summary"].as_str().unwrap().contains("to 0.00 EUR"),
        "{removal}"
    );
}

#[tokio::test]
async fn overdraft_changes_are_approved_and_pending_requests_expire() {
    let app = TestApp::spawn_with(AppOptions {
        approval_ttl_s: 1,
        ..AppOptions::default()
    })
    .await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "50").await;
    let filed = app
        .post(
            &format!("/v1/accounts/{account}/overdraft-limit"),
            &teller,
            &json!({ "limit": "250.00", "reason": "Salary account" }),
        )
        .await;
    assert_eq!(filed.status(), StatusCode::ACCEPTED);
    let filed = json_of(filed).await;
    let approved = app
        .post(
            &format!("/v1/approvals/{}/approve", filed["id"].as_str().unwrap()),
            &supervisor,
            &json!({}),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let view = account_view(&app, &teller, &account).await;
    assert_eq!(view["overdraft_limit"], "250.00");
    assert_eq!(view["available_balance"], "300.00");
    // A reversal nobody decides in time lapses and its hold goes with it.
    let bob = app.customer(&teller, "bob").await;
    let other = app.account(&teller, &bob, "0").await;
    let transfer = json_of(
        app.transfer(&alice.token, "t", &account, &other, "20")
            .await,
    )
    .await;
    let filed = json_of(
        app.post_idempotent(
            &format!(
                "/v1/transfers/{}/reversals",
                transfer["id"].as_str().unwrap()
            ),
            &teller,
            "rev",
            &json!({ "reason": "Mistake" }),
        )
        .await,
    )
    .await;
    assert_eq!(
        account_view(&app, &teller, &other).await["available_balance"],
        "0.00"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        account_view(&app, &teller, &other).await["available_balance"],
        "20.00"
    );
    let late = app
        .post(
            &format!("/v1/approvals/{}/approve", filed["id"].as_str().unwrap()),
            &supervisor,
            &json!({}),
        )
        .await;
    assert_eq!(problem_code(late).await, "approval_expired");
    let read = json_of(
        app.get(
            &format!("/v1/approvals/{}", filed["id"].as_str().unwrap()),
            &teller,
        )
        .await,
    )
    .await;
    assert_eq!(read["status"], "expired");
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn the_daily_limit_holds_under_concurrent_transfers() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let admin = app.sign_in(ADMIN).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "1000").await;
    let own = app.account(&teller, &alice, "0").await;
    let to = app.account(&teller, &bob, "0").await;
    let response = send(
        &app,
        Method::PUT,
        &format!("/v1/customers/{}/limits/EUR", alice.id),
        &admin,
        &json!({ "daily_limit": "100.00" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let shared = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let (app, token, from, to) = (
                shared.clone(),
                alice.token.clone(),
                from.clone(),
                to.clone(),
            );
            tokio::spawn(async move {
                app.transfer(&token, &format!("c{n}"), &from, &to, "20")
                    .await
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let app = &*shared;
    let posted = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(posted, 5, "{statuses:?}");
    let refused = app.transfer(&alice.token, "over", &from, &to, "0.01").await;
    assert_eq!(problem_code(refused).await, "daily_limit_exceeded");
    // Moving money between one's own accounts is not sending it to others.
    let between = app.transfer(&alice.token, "own", &from, &own, "300").await;
    assert_eq!(between.status(), StatusCode::CREATED);
    let limits = json_of(
        app.get(&format!("/v1/customers/{}/limits", alice.id), &alice.token)
            .await,
    )
    .await;
    let eur = limits["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["currency"] == "EUR")
        .unwrap()
        .clone();
    assert_eq!(eur["used_today"], "100.00");
    assert_eq!(eur["own"], true);
    // Only admins set limits.
    let response = send(
        app,
        Method::PUT,
        &format!("/v1/customers/{}/limits/EUR", alice.id),
        &teller,
        &json!({ "daily_limit": "1000000" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn customers_are_found_edited_with_an_audit_trail() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "10").await;
    for q in ["customer al", "ALICE@example", account.as_str()] {
        let found = json_of(
            app.get(&format!("/v1/customers?q={}", urlencode(q)), &teller)
                .await,
        )
        .await;
        let ids: Vec<&str> = found["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [alice.id.as_str()], "search {q}");
    }
    let response = send(
        &app,
        Method::PATCH,
        &format!("/v1/customers/{}", alice.id),
        &teller,
        &json!({ "full_name": "Alice Martin", "email": "alice@example.org", "phone": "+44 20 7946 0001",
                 "address": "12 Harbour Street, Leeds", "date_of_birth": "1980-04-21",
                 "id_document": "P1234567", "id_document_kind": "passport",
                 "id_document_country": "GB", "id_document_expires": "2036-01-31" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let found = json_of(app.get("/v1/customers?q=%2B44%2020%207946", &teller).await).await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 1);
    let audit = json_of(
        app.get(
            &format!(
                "/v1/audit?customer_id={}&action=customer.update&actor={}",
                alice.id, TELLER.0
            ),
            &supervisor,
        )
        .await,
    )
    .await;
    let record = &audit["records"][0];
    assert_eq!(record["before"]["full_name"], "Customer alice");
    assert_eq!(record["after"]["full_name"], "Alice Martin");
    assert_eq!(record["actor"], TELLER.0);
    // The customer search is for staff only.
    let response = app.get("/v1/customers?q=alice", &alice.token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn tampering_with_one_audit_row_is_found_by_the_api_and_the_command_line() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    app.account(&teller, &alice, "10").await;
    let report = json_of(app.post("/v1/audit/verify", &supervisor, &json!({})).await).await;
    assert_eq!(report["intact"], true, "{report}");
    assert!(report["audit_records_checked"].as_i64().unwrap() >= 3);
    let cli = verify_ledger_cli(&app, true);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stdout)
    );
    // Someone with database access rewrites history: the trigger that refuses it is bypassed.
    let victim = data::testing::tamper_with_second_audit_row(&app.database_url).await;
    let report = json_of(app.post("/v1/audit/verify", &supervisor, &json!({})).await).await;
    assert_eq!(report["intact"], false);
    assert_eq!(report["audit_chain_broken_at"], victim);
    let cli = verify_ledger_cli(&app, true);
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(!cli.status.success());
    assert!(
        stdout.contains(&format!("BROKEN at record {victim}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("event feed: every transfer and pending transfer has its events"),
        "{stdout}"
    );
    // A credential registered at the command line is in the audit log, under the logic tier.
    let registered = std::process::Command::new(env!("CARGO_BIN_EXE_logic"))
        .args(["create-service-key", "reconciliation"])
        .env("BANK_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(registered.status.success(), "{registered:?}");
    let audit = json_of(
        app.get("/v1/audit?action=service_client.create", &supervisor)
            .await,
    )
    .await;
    assert_eq!(
        audit["records"][0]["after"]["name"], "reconciliation",
        "{audit}"
    );
    assert_eq!(
        audit["records"][0]["actor_service"],
        "logic create-service-key"
    );
    // An event the ledger never wrote, put in the feed around the privileges.
    let made_up = data::testing::forge_feed_event(&app.database_url).await;
    let report = json_of(app.post("/v1/audit/verify", &supervisor, &json!({})).await).await;
    assert_eq!(report["feed_misreported"], json!([made_up]), "{report}");
    let cli = verify_ledger_cli(&app, true);
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(
        stdout.contains(&format!("MISREPORTS {made_up}")),
        "{stdout}"
    );
}

/// A tail of the audit chain rewritten with every hash recomputed passes the chain's own check,
/// but not the checkpoint the logic tier took under its server key; and with every checkpoint
/// removed as well, the logic tier does not vouch for the rewritten chain afresh: its anchor
/// file, off the database, still names the record as it was.
#[tokio::test]
async fn an_instance_without_anchors_does_not_vouch_past_a_rewritten_checkpoint() {
    // No anchor file: the newest checkpoint that holds its HMAC is where the check starts.
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    app.account(&teller, &alice, "10").await;
    let Anchored::Through(head) = anchor(&app.state).await.unwrap() else {
        panic!("the chain anchors");
    };
    // The chain rewritten through its head, nothing written after it: there is no record past
    // the checkpoint whose link would show the rewrite, so the checkpoint's own record must.
    data::testing::rewrite_audit_tail(&app.database_url).await;
    assert_eq!(anchor(&app.state).await.unwrap(), Anchored::Broken(head));
    let report = app.verify_ledger().await;
    assert_eq!(
        report.audit_checkpoints_contradicted,
        vec![head],
        "{report:?}"
    );
}

#[tokio::test]
async fn a_rewritten_chain_tail_contradicts_its_checkpoint() {
    // The instances' anchors, in a directory of their own.
    let anchors = std::env::temp_dir().join(format!("bank-audit-anchors-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&anchors).unwrap();
    let anchor_file = anchors.join("logic1");
    let app = TestApp::spawn_with(AppOptions {
        audit_anchor_file: Some(anchor_file.clone()),
        ..AppOptions::default()
    })
    .await;
    // A second instance beside it, which has vouched for nothing yet.
    let mut second = (*app.state.settings).clone();
    second.audit_anchor_file = Some(anchors.join("logic2"));
    let second = logic::state::AppState::new(app.state.pool.clone(), second)
        .await
        .unwrap();
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    app.account(&teller, &alice, "10").await;
    let report = app.verify_ledger().await;
    assert_eq!(report.audit_anchored_through, None, "{report:?}");
    assert_eq!(
        report.audit_records_unanchored,
        report.audit_records_checked
    );
    let Anchored::Through(head) = anchor(&app.state).await.unwrap() else {
        panic!("the chain anchors");
    };
    assert_eq!(anchor(&app.state).await.unwrap(), Anchored::Unchanged);
    assert!(
        std::fs::read_to_string(&anchor_file)
            .unwrap()
            .starts_with(&format!("{head} "))
    );
    let report = app.verify_ledger().await;
    assert!(report.intact, "{report:?}");
    assert_eq!(report.audit_anchored_through, Some(head));
    assert_eq!(report.audit_records_unanchored, 0);
    // Newer records await the next checkpoint.
    app.customer(&teller, "bob").await;
    let report = app.verify_ledger().await;
    assert_eq!(report.audit_anchored_through, Some(head));
    assert!(report.audit_records_unanchored >= 1, "{report:?}");

    // Someone with the database's superuser rewrites an old record and recomputes the chain.
    let victim = data::testing::rewrite_audit_tail(&app.database_url).await;
    assert!(victim < head);
    let report = app.verify_ledger().await;
    assert_eq!(
        report.audit_chain_broken_at, None,
        "the chain alone is fooled"
    );
    assert_eq!(report.audit_checkpoints_failed, vec![head], "{report:?}");
    assert_eq!(report.audit_checkpoints_contradicted, vec![head]);
    assert_eq!(report.audit_anchored_through, None);
    assert!(!report.intact);
    // Nor does the logic tier vouch for the rewritten chain.
    assert!(matches!(
        anchor(&app.state).await.unwrap(),
        Anchored::Broken(_)
    ));
    // The command line, with the server key, says which checkpoint; without it, it still holds
    // the checkpoint against the chain, and says the HMACs went unchecked.
    let with_key = verify_ledger_cli(&app, true);
    assert!(!with_key.status.success());
    let stdout = String::from_utf8_lossy(&with_key.stdout);
    assert!(
        stdout.contains(&format!("CHECKPOINT OF RECORD {head} DOES NOT HOLD")),
        "{stdout}"
    );
    assert!(stdout.contains("audit chain: intact"), "{stdout}");
    assert!(
        stdout.contains("HMAC checked under the server key"),
        "{stdout}"
    );
    let without_key = verify_ledger_cli(&app, false);
    let stdout = String::from_utf8_lossy(&without_key.stdout);
    assert!(
        stdout.contains(&format!("CHECKPOINT OF RECORD {head} DOES NOT HOLD")),
        "{stdout}"
    );
    assert!(stdout.contains("HMACs were not checked"), "{stdout}");

    // The rewrite covered by removing every checkpoint: the database alone no longer tells, but
    // neither instance vouches for the chain afresh, minute after minute (the second, which had
    // no anchor of its own, reads the first's), and the check with the anchors still fails.
    data::testing::remove_audit_checkpoints(&app.database_url).await;
    for _ in 0..2 {
        assert_eq!(anchor(&app.state).await.unwrap(), Anchored::Broken(head));
        assert_eq!(anchor(&second).await.unwrap(), Anchored::Broken(head));
    }
    let report = app.verify_ledger().await;
    assert_eq!(
        report.audit_anchored_through, None,
        "nothing vouched afresh"
    );
    assert_eq!(report.audit_anchors_checked, 1);
    assert_eq!(report.audit_anchors_failed, vec!["logic1".to_owned()]);
    assert!(!report.intact, "{report:?}");
    let mut cli = verify_ledger_cli_command(&app, true);
    let stdout = cli.env("BANK_AUDIT_ANCHORS", &anchors).output().unwrap();
    assert!(!stdout.status.success());
    let stdout = String::from_utf8_lossy(&stdout.stdout);
    assert!(
        stdout.contains("THE ANCHOR OF logic1 NAMES A RECORD"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&anchors);
}

/// A record edited before the newest anchor, which the minute's walk does not read again, is
/// found by the walk from the first row (at start, then hourly), and from then on the instance
/// vouches for nothing, minute after minute, until a whole walk finds the chain whole again.
/// A date moved before the common era, which the hash's text cannot tell apart, is a break too.
#[tokio::test]
async fn an_edit_behind_the_newest_anchor_is_found_by_the_whole_walk() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    app.customer(&teller, "alice").await;
    let Anchored::Through(_) = anchor_from_start(&app.state).await.unwrap() else {
        panic!("the chain anchors");
    };
    let victim = data::testing::tamper_with_second_audit_row(&app.database_url).await;
    assert_eq!(
        anchor(&app.state).await.unwrap(),
        Anchored::Unchanged,
        "the minute's walk reads only the tail"
    );
    assert_eq!(
        anchor_from_start(&app.state).await.unwrap(),
        Anchored::Broken(victim)
    );
    app.customer(&teller, "bob").await;
    assert_eq!(anchor(&app.state).await.unwrap(), Anchored::Broken(victim));
    assert_eq!(anchor(&app.state).await.unwrap(), Anchored::Broken(victim));

    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    app.customer(&teller, "alice").await;
    let era = data::testing::move_audit_record_before_the_era(&app.database_url).await;
    let report = app.verify_ledger().await;
    assert_eq!(report.audit_chain_broken_at, Some(era), "{report:?}");
    assert_eq!(
        anchor_from_start(&app.state).await.unwrap(),
        Anchored::Broken(era)
    );
}

/// A record planted below the chain's first, where a reader starting after 0 would not look, is
/// refused by the database; planted past its check, the verifier still reads it.
#[tokio::test]
async fn a_record_planted_before_the_first_is_found() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    app.customer(&teller, "alice").await;
    assert!(app.verify_ledger().await.intact);
    data::testing::plant_audit_record(&app.database_url, -5).await;
    let report = app.verify_ledger().await;
    assert_eq!(report.audit_chain_broken_at, Some(-5), "{report:?}");
    assert!(!report.intact);
    assert!(matches!(
        anchor(&app.state).await.unwrap(),
        Anchored::Broken(-5)
    ));
}

/// A checkpoint forged without the server key fails its HMAC; forged ones, however many, take
/// no record's place from the logic tier's own, and the report lists a bounded number of them.
#[tokio::test]
async fn checkpoints_forged_without_the_server_key_fail_their_hmac() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    app.customer(&teller, "alice").await;
    let forged = data::testing::forge_audit_checkpoints(&app.database_url, 1).await;
    let report = app.verify_ledger().await;
    assert_eq!(report.audit_checkpoints_failed, vec![forged], "{report:?}");
    assert!(!report.intact);
    // The logic tier does not build on it: it checks the chain from its start and anchors the
    // same record under its own key, which holds beside the forgery (still reported).
    assert_eq!(anchor(&app.state).await.unwrap(), Anchored::Through(forged));
    let report = app.verify_ledger().await;
    assert_eq!(report.audit_anchored_through, Some(forged));
    assert_eq!(report.audit_checkpoints_failed, vec![forged]);
    // Without the key the forgery cannot be told from a real checkpoint: it matches the chain.
    let mut conn = app.state.pool.acquire().await.unwrap();
    let keyless = logic::audit::verify_ledger(&mut conn, None, &[])
        .await
        .unwrap();
    assert!(keyless.audit_checkpoints_failed.is_empty(), "{keyless:?}");
    assert!(!keyless.audit_checkpoints_authenticated);
    drop(conn);
    // A flood of them: counted in full, listed in part; the next record is still anchored.
    app.customer(&teller, "bob").await;
    let flooded = data::testing::forge_audit_checkpoints(&app.database_url, 150).await;
    assert_eq!(
        anchor(&app.state).await.unwrap(),
        Anchored::Through(flooded)
    );
    let report = app.verify_ledger().await;
    assert_eq!(report.audit_checkpoints_failed_count, 151);
    assert!(
        report.audit_checkpoints_contradicted.is_empty(),
        "forgeries are not the bank's"
    );
    assert_eq!(
        report.audit_checkpoints_failed.len(),
        logic::audit::FAILED_CHECKPOINTS_LISTED
    );
    assert_eq!(report.audit_anchored_through, Some(flooded));
}

fn verify_ledger_cli(app: &TestApp, with_key: bool) -> std::process::Output {
    verify_ledger_cli_command(app, with_key).output().unwrap()
}

fn verify_ledger_cli_command(app: &TestApp, with_key: bool) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_logic"));
    command
        .arg("verify-ledger")
        .env("BANK_DATABASE_URL", &app.database_url)
        .env_remove("BANK_SECRETS_KEY_FILE")
        .env_remove("BANK_AUDIT_ANCHORS");
    if with_key {
        command.env("BANK_SECRETS_KEY_FILE", data::testing::server_key_file());
    }
    command
}

/// A customer's own security and payee events are in the audit log, by them, and a search by
/// customer finds them: a wrong password, a sign-in, a payee added and removed, a password change.
#[tokio::test]
async fn a_customers_own_security_events_are_audited() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let bobs = app.account(&teller, &bob, "0").await;
    let wrong = app.sign_in_response("alice", "not-her-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let token = app.sign_in(("alice", "alice-test-password")).await;
    let payee: Value = app
        .post(
            "/v1/payees",
            &token,
            &json!({ "nickname": "Bob", "account_number": bobs, "step_up": { "password": "alice-test-password" } }),
        )
        .await
        .json()
        .await
        .unwrap();
    let removed = app
        .request(
            Method::DELETE,
            &format!("/v1/payees/{}", payee["id"].as_str().unwrap()),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);

    let wanted = [
        "security.password_change",
        "session.sign_in_failed",
        "session.sign_in",
        "payee.add",
        "payee.remove",
    ];
    // The failed sign-in is audited off its answer's path: wait for it, a few seconds at most.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found: Value = app
            .get(&format!("/v1/audit?customer_id={}", alice.id), &supervisor)
            .await
            .json()
            .await
            .unwrap();
        let records = found["records"].as_array().unwrap();
        let actions: Vec<&str> = records
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect();
        if wanted.iter().all(|action| actions.contains(action)) {
            let by = |action: &str| {
                records
                    .iter()
                    .find(|r| r["action"] == action)
                    .unwrap()
                    .clone()
            };
            assert_eq!(by("payee.add")["actor"], "alice");
            assert_eq!(by("payee.add")["after"]["account_number"], bobs.as_str());
            assert_eq!(by("session.sign_in")["actor"], "alice");
            // Whoever typed the wrong password is not known: the bank records it, not alice.
            assert_eq!(by("session.sign_in_failed")["actor"], Value::Null);
            // Bob's events are not alice's.
            assert!(records.iter().all(|r| r["after"]["username"] != "bob"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "audited so far: {actions:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.assert_ledger_sound().await;
}
