//! The logic binary serves the API over HTTPS and reaches the database over TLS with its
//! certificate checked; plain HTTP only behind the development flag.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::app::TestApp;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `logic serve` with only these settings (nothing inherited from the test's environment).
fn serve(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_logic"));
    command.arg("serve").env_clear().envs(vars.iter().copied());
    command
}

fn refusal(vars: &[(&str, &str)]) -> String {
    data::testing::refusal(serve(vars))
}

#[tokio::test]
async fn the_api_is_served_over_https_to_a_database_reached_over_verified_tls() {
    let app = TestApp::spawn().await;
    let tls = data::testing::tls::certificates();
    let (cert, key, ca) = (
        tls.cert_file.to_str().unwrap(),
        tls.key_file.to_str().unwrap(),
        tls.ca_file.to_str().unwrap(),
    );
    let addr = format!("127.0.0.1:{}", free_port());
    let verified = format!("{}?sslmode=verify-full&sslrootcert={ca}", app.database_url);

    // No certificate and no development flag: it does not start.
    let stderr = refusal(&[
        ("BANK_DATABASE_URL", &verified),
        ("BANK_LISTEN_ADDR", &addr),
    ]);
    assert!(stderr.contains("served over HTTPS only"), "{stderr}");
    // A certificate, but a database URL that does not check the server's: it does not start.
    let stderr = refusal(&[
        ("BANK_DATABASE_URL", &app.database_url),
        ("BANK_LISTEN_ADDR", &addr),
        ("BANK_TLS_CERT_FILE", cert),
        ("BANK_TLS_KEY_FILE", key),
    ]);
    assert!(stderr.contains("sslmode=verify-full"), "{stderr}");

    // Everything but the server key that seals second factors: it does not start.
    let stderr = refusal(&[
        ("BANK_DATABASE_URL", &verified),
        ("BANK_LISTEN_ADDR", &addr),
        ("BANK_TLS_CERT_FILE", cert),
        ("BANK_TLS_KEY_FILE", key),
    ]);
    assert!(stderr.contains("BANK_SECRETS_KEY_FILE"), "{stderr}");

    let server_key = data::testing::server_key_file().to_str().unwrap();
    let mut server = serve(&[
        ("BANK_DATABASE_URL", &verified),
        ("BANK_LISTEN_ADDR", &addr),
        ("BANK_TLS_CERT_FILE", cert),
        ("BANK_TLS_KEY_FILE", key),
        ("BANK_SECRETS_KEY_FILE", server_key),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&tls.ca_pem).unwrap()])
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Ready means its pool reached the database: over TLS, the certificate checked.
    let ready = loop {
        match trusting.get(format!("https://{addr}/readyz")).send().await {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the HTTPS API never answered: {e}"),
        }
    };
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    // The same port in plain HTTP answers nothing a client could read as HTTP.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/readyz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status().is_client_error());
    // A client that trusts only the public authorities refuses its certificate.
    assert!(
        reqwest::Client::new()
            .get(format!("https://{addr}/readyz"))
            .send()
            .await
            .is_err()
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
