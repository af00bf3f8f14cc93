//! Every list of the API is read a page at a time with an opaque cursor: walking the pages yields
//! each row once, in the list's order, exactly as one long page would; a bad cursor or page size
//! is refused.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{ADMIN, SUPERVISOR, TELLER, TestApp, problem_code};

/// Reads every page of `path` (which has a query already) `limit` rows at a time; checks each
/// page's size and that the last one says so. Returns the rows, in order.
async fn walk(app: &TestApp, token: &str, path: &str, field: &str, limit: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let page_path = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let response = app.get(&page_path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "{page_path}");
        let page: Value = response.json().await.unwrap();
        let items = page[field].as_array().unwrap();
        assert!(
            items.len() <= limit,
            "{page_path}: a page longer than asked"
        );
        rows.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(
                    items.len(),
                    limit,
                    "{page_path}: a short page before the end"
                );
                cursor = Some(next.to_owned());
            }
            None => {
                assert!(
                    page["next_cursor"].is_null(),
                    "{page_path}: next_cursor is null"
                );
                return rows;
            }
        }
    }
    panic!("{path}: the pages never ended");
}

/// Walks `path` in small pages and in one long page, and checks both give the same rows, each
/// once; returns them.
async fn same_rows_in_pages(
    app: &TestApp,
    token: &str,
    path: &str,
    field: &str,
    id: &str,
    expected: usize,
) -> Vec<Value> {
    let paged = walk(app, token, path, field, 2).await;
    let whole = walk(app, token, path, field, 100).await;
    let ids = |rows: &[Value]| -> Vec<String> { rows.iter().map(|r| r[id].to_string()).collect() };
    assert_eq!(
        ids(&paged),
        ids(&whole),
        "{path}: pages differ from one long page"
    );
    assert_eq!(paged.len(), expected, "{path}: every row, once");
    let distinct: HashSet<String> = ids(&paged).into_iter().collect();
    assert_eq!(distinct.len(), paged.len(), "{path}: a row repeated");
    paged
}

#[tokio::test]
async fn every_list_pages_through_all_its_rows_once_in_order() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let admin = app.sign_in(ADMIN).await;

    // Customers: five with the same name, so that only the id orders them, and two more.
    let mut customer_ids = Vec::new();
    for (i, name) in [
        "Page Twin",
        "Page Twin",
        "Page Twin",
        "Page Twin",
        "Page Twin",
        "Page Alpha",
        "Page Zulu",
    ]
    .iter()
    .enumerate()
    {
        let response = app
            .post(
                "/v1/customers",
                &teller,
                &json!({ "full_name": name, "email": format!("page{i}@example.org") }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        customer_ids.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    let found =
        same_rows_in_pages(&app, &teller, "/v1/customers?q=page", "customers", "id", 7).await;
    let names: Vec<&str> = found
        .iter()
        .map(|c| c["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"Page Alpha"));
    assert_eq!(names.last(), Some(&"Page Zulu"));
    let mut twins: Vec<String> = found[1..6]
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let listed = twins.clone();
    twins.sort();
    assert_eq!(listed, twins, "equal names are in order of id");

    // A customer's accounts, as staff and as the customer; entries across them.
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let mut numbers = Vec::new();
    for deposit in ["10", "20", "30", "40", "50"] {
        numbers.push(app.account(&teller, &alice, deposit).await);
    }
    let accounts = same_rows_in_pages(
        &app,
        &teller,
        &format!("/v1/accounts?customer_id={}", alice.id),
        "accounts",
        "number",
        5,
    )
    .await;
    let listed: Vec<&str> = accounts
        .iter()
        .map(|a| a["number"].as_str().unwrap())
        .collect();
    assert_eq!(listed, numbers, "accounts oldest first");
    same_rows_in_pages(&app, &alice.token, "/v1/accounts?", "accounts", "number", 5).await;
    for (i, from) in numbers.iter().enumerate() {
        let to = &numbers[(i + 1) % numbers.len()];
        let response = app
            .transfer(&alice.token, &format!("t{i}"), from, to, "1")
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // Five deposits and five transfers of two legs each.
    let activity = same_rows_in_pages(
        &app,
        &teller,
        &format!("/v1/customers/{}/activity?", alice.id),
        "entries",
        "id",
        15,
    )
    .await;
    let entry_ids: Vec<i64> = activity.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        entry_ids.windows(2).all(|w| w[0] > w[1]),
        "entries newest first"
    );

    // Holds on one account.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(3);
    let soon = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for i in 0..5 {
        let response = app
            .post(
                &format!("/v1/accounts/{}/holds", numbers[4]),
                &teller,
                &json!({ "amount": "1", "reason": format!("hold {i}"), "expires_at": soon }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let holds = same_rows_in_pages(
        &app,
        &teller,
        &format!("/v1/accounts/{}/holds?", numbers[4]),
        "holds",
        "id",
        5,
    )
    .await;
    let reasons: Vec<&str> = holds
        .iter()
        .map(|h| h["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["hold 4", "hold 3", "hold 2", "hold 1", "hold 0"]);

    // Approval requests: a reversal of each transfer.
    let bobs = app.account(&teller, &bob, "100").await;
    for i in 0..5 {
        let paid = app
            .transfer(&bob.token, &format!("b{i}"), &bobs, &numbers[0], "1")
            .await;
        let paid: Value = paid.json().await.unwrap();
        let filed = app
            .post_idempotent(
                &format!("/v1/transfers/{}/reversals", paid["id"].as_str().unwrap()),
                &supervisor,
                &format!("rev-{i}"),
                &json!({ "reason": "Paid in error" }),
            )
            .await;
        assert_eq!(filed.status(), StatusCode::ACCEPTED);
    }
    same_rows_in_pages(
        &app,
        &supervisor,
        "/v1/approvals?status=pending",
        "approvals",
        "id",
        5,
    )
    .await;

    // Drawers: three opened and closed, one open; the open one comes first.
    let mut drawers = Vec::new();
    for i in 0..4 {
        drawers.push(app.open_drawer(&supervisor).await);
        if i < 3 {
            let closed = app
                .post_idempotent(
                    &format!("/v1/drawers/{}/close", drawers[i]),
                    &supervisor,
                    &format!("close-{i}"),
                    &json!({ "denominations": {} }),
                )
                .await;
            assert_eq!(closed.status(), StatusCode::CREATED);
        }
    }
    let listed = same_rows_in_pages(&app, &supervisor, "/v1/drawers?", "drawers", "id", 4).await;
    let ids: Vec<&str> = listed.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [&drawers[3], &drawers[2], &drawers[1], &drawers[0]]);
    assert_eq!(listed[0]["state"], "open");

    // Staff, in order of username.
    for name in ["page.one", "page.two", "page.three"] {
        let response = app
            .post(
                "/v1/admin/staff",
                &admin,
                &json!({ "username": name, "password": "a-long-enough-password", "role": "teller" }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let staff = walk(&app, &admin, "/v1/admin/staff?", "staff", 2).await;
    let usernames: Vec<&str> = staff
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    let mut sorted = usernames.clone();
    sorted.sort();
    assert_eq!(usernames, sorted);
    for name in [
        "page.one",
        "page.two",
        "page.three",
        "tina.teller",
        "adam.admin",
    ] {
        assert!(usernames.contains(&name), "{name} is listed");
    }
    same_rows_in_pages(&app, &admin, "/v1/admin/staff?", "staff", "id", staff.len()).await;

    // A customer's payees, in order of nickname whatever its case, and live sessions.
    for (nickname, number) in [
        ("carol", &numbers[0]),
        ("Bob", &bobs),
        ("dave", &numbers[1]),
    ] {
        let response = app
            .post(
                "/v1/payees",
                &alice.token,
                &json!({ "nickname": nickname, "account_number": number, "step_up": { "password": "alice-test-password" } }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let payees = same_rows_in_pages(&app, &alice.token, "/v1/payees?", "payees", "id", 3).await;
    let nicknames: Vec<&str> = payees
        .iter()
        .map(|p| p["nickname"].as_str().unwrap())
        .collect();
    assert_eq!(nicknames, ["Bob", "carol", "dave"]);
    for _ in 0..4 {
        app.sign_in(("alice", "alice-test-password")).await;
    }
    let sessions =
        same_rows_in_pages(&app, &alice.token, "/v1/me/sessions?", "sessions", "id", 5).await;
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(
        sessions.last().unwrap()["current"],
        true,
        "the oldest sign-in is last"
    );
}

#[tokio::test]
async fn a_bad_cursor_or_page_size_is_refused() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let admin = app.sign_in(ADMIN).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "0").await;
    let staff: Value = app
        .get("/v1/admin/staff?limit=1", &admin)
        .await
        .json()
        .await
        .unwrap();
    let staff_cursor = staff["next_cursor"].as_str().unwrap().to_owned();
    for path in [
        "/v1/me/sessions?cursor=not-a-cursor".to_owned(),
        format!("/v1/accounts/{account}/holds?cursor=%21%21"),
        "/v1/customers?q=alice&limit=0".to_owned(),
        "/v1/customers?q=alice&limit=101".to_owned(),
        "/v1/approvals?limit=201".to_owned(),
        "/v1/drawers?cursor=e30".to_owned(),
        // A cursor of one list is no place in another.
        format!("/v1/approvals?cursor={staff_cursor}"),
        format!("/v1/customers/{}/activity?cursor={staff_cursor}", alice.id),
    ] {
        let response = app.get(&path, &teller).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
        assert_eq!(problem_code(response).await, "invalid_query", "{path}");
    }
    for path in ["/v1/payees?limit=0", "/v1/me/sessions?cursor=garbage"] {
        let response = app.get(path, &alice.token).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_day_out_of_range_is_refused_never_a_server_error() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "0").await;
    // The day after 9999-12-31 does not exist, and PostgreSQL holds no year before 4713 BC.
    for (from, to) in [
        ("2026-01-01", "9999-12-31"),
        ("-9999-01-01", "2026-01-31"),
        ("1899-12-31", "2026-01-31"),
        ("9999-12-31", "9999-12-31"),
    ] {
        let days = format!("from={from}&to={to}");
        for (path, token) in [
            (format!("/v1/accounts/{account}/entries?{days}"), &teller),
            (format!("/v1/accounts/{account}/statement?{days}"), &teller),
            (format!("/v1/audit?{days}"), &supervisor),
        ] {
            let response = app.get(&path, token).await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path}"
            );
            assert_eq!(problem_code(response).await, "invalid_query", "{path}");
        }
    }
    // Text that is no username is refused, not handed to PostgreSQL (a NUL byte once gave 500).
    for actor in ["%00", "a%00b", "%C0%AF", "x"] {
        let response = app
            .get(&format!("/v1/audit?actor={actor}"), &supervisor)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{actor}"
        );
    }
    // The edges of the range are days like any other.
    for path in [
        format!("/v1/accounts/{account}/entries?from=1900-01-01&to=9999-12-30"),
        format!("/v1/accounts/{account}/statement?from=1900-01-01&to=9999-12-30"),
    ] {
        assert_eq!(
            app.get(&path, &teller).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(
        app.get("/v1/audit?from=1900-01-01&to=9999-12-30", &supervisor)
            .await
            .status(),
        StatusCode::OK
    );
}
