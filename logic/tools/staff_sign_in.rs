//! How the bank's own tools (the fault campaign, the bench) sign a member of staff in where
//! staff must have a second factor: at the first sign-in they enrol one and keep its secret in a
//! directory of the deployment's secrets; at later ones they answer the code challenge from it.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// The current TOTP code of a base32 `secret`.
fn code(secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("a base32 TOTP secret");
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_secret(secret.as_bytes().to_vec())
        .with_account_name("staff")
        .build()
        .expect("a TOTP of the bank's shape");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the system clock")
        .as_secs();
    totp.generate(now).to_string()
}

/// POSTs `body` to `path`, retried while the bank is briefly unreachable or answers 5xx.
async fn post(
    http: &reqwest::Client,
    url: &str,
    api_key: &str,
    token: Option<&str>,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let mut last = String::new();
    for _ in 0..120 {
        let mut request = http
            .post(format!("{url}{path}"))
            .header("x-api-key", api_key)
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(response) if response.status().as_u16() < 500 => {
                let status = response.status().as_u16();
                return (status, response.json().await.unwrap_or(Value::Null));
            }
            Ok(response) => last = response.status().to_string(),
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("POST {path}: no answer: {last}")
}

/// Signs `username` in and returns the session token, enrolling a second factor (its secret
/// kept in `secrets_dir/<username>`, mode 0600) when the bank asks for one, and answering the
/// code challenge from that secret when one is on.
pub async fn sign_in(
    http: &reqwest::Client,
    url: &str,
    api_key: &str,
    (username, password): (&str, &str),
    secrets_dir: &Path,
) -> String {
    let credentials = json!({ "username": username, "password": password });
    let (status, body) = post(http, url, api_key, None, "/v1/sessions", &credentials).await;
    let secret_file = secrets_dir.join(username);
    match status {
        201 => {
            let token = body["token"].as_str().expect("a session token").to_owned();
            if body["user"]["second_factor_due"] == true {
                let (status, enrolment) =
                    post(http, url, api_key, Some(&token), "/v1/me/totp", &json!({})).await;
                assert_eq!(
                    status, 200,
                    "enrol a second factor for {username}: {enrolment}"
                );
                let secret = enrolment["secret"].as_str().expect("a TOTP secret");
                std::fs::create_dir_all(secrets_dir).expect("the secrets directory");
                write_private(&secret_file, secret);
                let confirm = json!({ "code": code(secret) });
                let (status, answer) = post(
                    http,
                    url,
                    api_key,
                    Some(&token),
                    "/v1/me/totp/confirm",
                    &confirm,
                )
                .await;
                assert_eq!(status, 200, "confirm {username}'s second factor: {answer}");
            }
            token
        }
        202 => {
            let secret = std::fs::read_to_string(&secret_file).unwrap_or_else(|e| {
                panic!(
                    "{username} has a second factor, but its secret is not in {} ({e}): it was \
                     enrolled elsewhere (the portal, by hand). Put its base32 secret in that file \
                     (mode 600), or have a supervisor reset {username}'s second factor so the next \
                     run enrols one of its own",
                    secret_file.display()
                )
            });
            let challenge = body["challenge"].as_str().expect("a challenge").to_owned();
            // A code signs in once: when this one was just used, the next step's is awaited.
            for _ in 0..3 {
                let answer = json!({ "challenge": challenge, "code": code(secret.trim()) });
                let (status, body) = post(
                    http,
                    url,
                    api_key,
                    None,
                    "/v1/sessions/second-factor",
                    &answer,
                )
                .await;
                if status == 201 {
                    return body["token"].as_str().expect("a session token").to_owned();
                }
                tokio::time::sleep(Duration::from_secs(31)).await;
            }
            panic!("{username}'s code was refused three times")
        }
        _ => panic!("sign in as {username}: {status} {body}"),
    }
}

fn write_private(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("the secret's file");
    file.write_all(text.as_bytes()).expect("write the secret");
}
