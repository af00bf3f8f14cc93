use axum::Json;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{ADMIN, AppOptions, TELLER, TestApp};

/// Answers `/cluster` as Patroni 3 does, for a three-node cluster.
async fn patroni_stand_in() -> String {
    let router = axum::Router::new().route(
        "/cluster",
        get(|| async {
            Json(json!({ "members": [
                { "name": "pg1", "role": "leader", "state": "running", "host": "127.0.0.1", "port": 55441, "timeline": 3 },
                { "name": "pg2", "role": "sync_standby", "state": "streaming", "host": "127.0.0.1", "port": 55442, "timeline": 3, "lag": 0 },
                { "name": "pg3", "role": "replica", "state": "streaming", "host": "127.0.0.1", "port": 55443, "timeline": 3, "lag": 1024 }
            ]}))
        }),
    );
    // Over HTTPS, with a certificate of the test authority, as the deployment's Patroni serves.
    let tls = data::testing::tls::certificates();
    let config =
        axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert_file, &tls.key_file)
            .await
            .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, config)
            .unwrap()
            .serve(router.into_make_service())
            .await
            .unwrap();
    });
    url
}

#[tokio::test]
async fn admins_see_each_database_node_with_its_role_and_lag() {
    let patroni = patroni_stand_in().await;
    // The first endpoint is down: the next one answers for the whole cluster.
    let options = AppOptions {
        patroni_urls: vec!["https://127.0.0.1:9".into(), patroni],
        ca_file: Some(data::testing::tls::certificates().ca_file.clone()),
        ..AppOptions::default()
    };
    let app = TestApp::spawn_with(options).await;
    let admin = app.sign_in(ADMIN).await;
    let cluster: Value = app
        .get("/v1/admin/cluster", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cluster["reachable"], true);
    let roles: Vec<(&str, &str)> = cluster["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("pg1", "primary"),
            ("pg2", "sync_standby"),
            ("pg3", "replica")
        ]
    );
    assert_eq!(cluster["members"][2]["lag_bytes"], 1024);
    let teller = app.sign_in(TELLER).await;
    assert_eq!(
        app.get("/v1/admin/cluster", &teller).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_unreachable_cluster_is_reported_as_such() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let cluster: Value = app
        .get("/v1/admin/cluster", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cluster["reachable"], false);
}

#[tokio::test]
async fn a_patroni_certificate_of_another_authority_is_not_trusted() {
    // The same stand-in, but the logic tier trusts only the system's roots: no answer counts.
    let options = AppOptions {
        patroni_urls: vec![patroni_stand_in().await],
        ..AppOptions::default()
    };
    let app = TestApp::spawn_with(options).await;
    let admin = app.sign_in(ADMIN).await;
    let cluster: Value = app
        .get("/v1/admin/cluster", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cluster["reachable"], false);
}
