//! The presentation binary serves the portal over HTTPS and calls the logic tier over HTTPS,
//! trusting only the given authority; plain HTTP only behind the development flag.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::portal::{Portal, http};

fn portal(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_presentation"));
    command.env_clear().envs(vars.iter().copied());
    command
}

fn refusal(vars: &[(&str, &str)]) -> String {
    data::testing::refusal(portal(vars))
}

#[tokio::test]
async fn the_portal_is_served_over_https_and_calls_the_logic_tier_over_https() {
    let bank = Portal::spawn().await;
    let tls = data::testing::tls::certificates();
    let key_file = std::env::temp_dir().join(format!("bank-portal-key-{}", uuid::Uuid::new_v4()));
    std::fs::write(&key_file, &bank.portal_key).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let common = [
        ("PORTAL_LISTEN_ADDR", addr.as_str()),
        ("PORTAL_SERVICE_KEY_FILE", key_file.to_str().unwrap()),
        (
            "PORTAL_STATIC_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../static"),
        ),
        ("BANK_LOGIC_CA_FILE", tls.ca_file.to_str().unwrap()),
    ];
    let with_tls = [
        ("PORTAL_TLS_CERT_FILE", tls.cert_file.to_str().unwrap()),
        ("PORTAL_TLS_KEY_FILE", tls.key_file.to_str().unwrap()),
    ];

    let stderr = refusal(&[&common[..], &[("BANK_LOGIC_URL", &bank.logic_url)]].concat());
    assert!(stderr.contains("served over HTTPS only"), "{stderr}");
    let plain_logic = bank.logic_url.replacen("https://", "http://", 1);
    let stderr = refusal(
        &[
            &common[..],
            &with_tls[..],
            &[("BANK_LOGIC_URL", &plain_logic)],
        ]
        .concat(),
    );
    assert!(
        stderr.contains("BANK_LOGIC_URL must be https://"),
        "{stderr}"
    );

    let mut server = portal(
        &[
            &common[..],
            &with_tls[..],
            &[("BANK_LOGIC_URL", &bank.logic_url)],
        ]
        .concat(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let client = http().timeout(Duration::from_secs(5)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Ready means it reached the logic tier, over HTTPS, with the logic tier's certificate checked.
    let ready = loop {
        match client.get(format!("https://{addr}/readyz")).send().await {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the HTTPS portal never answered: {e}"),
        }
    };
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let sign_in = client
        .get(format!("https://{addr}/sign-in"))
        .send()
        .await
        .unwrap();
    let cookie = sign_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_file(&key_file);
}
