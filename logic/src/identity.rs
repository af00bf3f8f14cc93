//! Signing in and out. Passwords are verified here and nowhere else.
//!
//! A wrong password and an unknown username get the same answer after the same work: an unknown
//! username is verified against a dummy hash made with the same parameters.
//!
//! Every attempt is counted *before* its password is checked, in one statement that numbers it:
//! per attempted username (existing or not) and per source address (as the web tier's balancer
//! saw it). The attempt that reaches a limit sets the lock before its own check, so a burst of
//! any size gets at most the limit's checks. After [`FAILURES_BEFORE_LOCK`] attempts for a name,
//! or [`SOURCE_FAILURES_BEFORE_LOCK`] from an address, in [`FAILURE_WINDOW_S`], the name (or the
//! address) is locked for [`LOCK_FIRST_S`], doubling with each further attempt up to
//! [`LOCK_MAX_S`]. A correct password clears the name's count and takes back its attempt from the
//! address. Second-factor codes are limited per account across challenges the same way
//! ([`SECOND_FACTOR_FAILURES_BEFORE_LOCK`]).
//!
//! A lock on a name must not let a stranger keep its owner out. Every full sign-in hands the
//! device a token of its own (the portal keeps it in a long-lived cookie); a later sign-in that
//! presents a device token known for that username is counted against the device, not the name,
//! so failures under the name by anyone else do not stop it. Sign-ins from devices not known to
//! the user also pass a bank-wide brake, a budget of password checks per minute
//! (`sign_in_unknown_device_checks_per_minute`, a correct password giving its check back): one
//! client spraying a password over many names from many addresses slows down every unknown
//! device's sign-in, never a known one's.

use bank_api::ProblemCode;
use data::users::Role;
use time::{Duration, OffsetDateTime};
use tracing::Instrument;
use uuid::Uuid;

use crate::auth::password::{self, PASSWORD_MAX_CHARS};
use crate::auth::{SessionUser, secrets};
use crate::error::ApiError;
use crate::state::AppState;
use crate::throttle::{
    FAILURES_BEFORE_LOCK, SECOND_FACTOR_FAILURES_BEFORE_LOCK, SOURCE_FAILURES_BEFORE_LOCK,
    second_factor_key, take_attempt, throttled,
};
use crate::wire::IntoWire;
use crate::wire::{SecondFactorChallenge, SessionResponse, UserResponse};
use data::sessions::ClientInfo;

/// How long a device stays known after a sign-in from it: ninety days.
pub const DEVICE_TTL_S: i64 = 90 * 86_400;
/// Devices remembered per user; the oldest beyond this is forgotten.
pub const DEVICES_KEPT: i64 = 10;
/// The longest device token read (a real one is 48 characters).
const DEVICE_TOKEN_CHARS_MAX: usize = 100;
fn invalid_credentials() -> ApiError {
    ApiError::Unauthenticated {
        code: ProblemCode::InvalidCredentials,
        detail: "the username or password is not correct",
    }
}

fn brake_engaged(retry_after_s: u64) -> ApiError {
    ApiError::TooManyRequests {
        code: ProblemCode::SignInThrottled,
        detail: "the bank is seeing many failed sign-ins and is slowing down sign-ins from new \
                 devices; wait a moment, or sign in from a device you have used here before",
        retry_after_s,
    }
}

/// The throttle's key for a known device, from its token's digest.
fn device_key(token_hash: &[u8]) -> String {
    let hex: String = token_hash
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("device:{hex}")
}

/// The throttle's key for a source address, when the web tier sent one that is an address.
fn source_key(ip: Option<&str>) -> Option<String> {
    ip.and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| format!("source:{ip}"))
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in.
    Session(SessionResponse),
    /// The user has a second factor: present a code with this challenge to finish signing in.
    SecondFactor(SecondFactorChallenge),
}

/// How long the second step of a sign-in may take, and how many codes it may try.
pub const CHALLENGE_TTL_S: i64 = 300;
pub const CHALLENGE_ATTEMPTS_MAX: i32 = 5;

pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: String,
    client: &ClientInfo,
    device_token: Option<&str>,
) -> Result<SignIn, ApiError> {
    // Malformed names and oversized passwords cannot match; they get the same answer as any
    // other failure, after the same work.
    let username = crate::domain::text::username(username).unwrap_or_default();
    let password_fits = !password.is_empty() && password.chars().count() <= PASSWORD_MAX_CHARS;
    let budget = state.settings.retry_budget_ms;
    let device_hash = device_token
        .filter(|token| !token.is_empty() && token.chars().count() <= DEVICE_TOKEN_CHARS_MAX)
        .map(secrets::digest);
    let brake_per_minute = state.settings.sign_in_unknown_device_checks_per_minute;

    let source = source_key(client.ip.as_deref());
    let taken = crate::unit_of_work::retried(budget, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let known_device = match &device_hash {
            Some(hash) if !username.is_empty() => {
                data::sessions::known_device_username(&mut tx, hash)
                    .await?
                    .is_some_and(|owner| owner == username)
            }
            _ => false,
        };
        if !known_device {
            let decision = state.sign_in_brake.check(Uuid::nil(), brake_per_minute);
            if !decision.allowed {
                return Ok(Err(brake_engaged(decision.retry_after_s)));
            }
        }
        // The address first: a locked address counts nothing against the name (or device).
        let mut wait_s = match &source {
            Some(source) => take_attempt(&mut tx, source, SOURCE_FAILURES_BEFORE_LOCK).await?,
            None => None,
        };
        let name_key = match &device_hash {
            Some(hash) if known_device => device_key(hash),
            _ => username.clone(),
        };
        if wait_s.is_none() && !username.is_empty() {
            wait_s = take_attempt(&mut tx, &name_key, FAILURES_BEFORE_LOCK).await?;
        }
        let user = match wait_s {
            Some(_) => None,
            None => data::users::find_user_by_username(&mut tx, &username).await?,
        };
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(Ok((wait_s, user, known_device, name_key)))
    })
    .await??;
    let (user, known_device, name_key) = match taken {
        (Some(wait_s), _, _, _) => return Err(throttled(wait_s)),
        (None, user, known_device, name_key) => (user, known_device, name_key),
    };

    let hash = match &user {
        Some(user) => user.password_hash.clone(),
        None => state.dummy_password_hash.to_string(),
    };
    let verified = password::verify(
        if password_fits {
            password
        } else {
            String::new()
        },
        hash,
    )
    .await
        && password_fits;
    let user = match user {
        Some(user) if verified && !user.disabled && !username.is_empty() => user,
        Some(user) => {
            // Audited off the answer's path, so that a known username answers no slower than an
            // unknown one.
            let (state, client) = (state.clone(), client.clone());
            // A trace of its own (the request's ends with its answer), linked to the request's
            // and naming it in its log lines.
            let request = tracing::Span::current();
            let audit = tracing::info_span!(
                parent: None,
                "failed sign-in audit",
                request_trace = bank_api::telemetry::trace_id(&request),
            );
            bank_api::telemetry::link(&audit, &request);
            tokio::spawn(
                async move {
                    audit_failed_sign_in(&state, &user, &client, "session.sign_in_failed").await
                }
                .instrument(audit),
            );
            return Err(invalid_credentials());
        }
        // Counted already, before the check.
        None => return Err(invalid_credentials()),
    };
    if !known_device {
        state.sign_in_brake.refund(Uuid::nil(), brake_per_minute);
    }

    if user.totp_secret.is_some() {
        let challenge = secrets::generate("btc");
        let challenge_hash = secrets::digest(&challenge);
        let expires_at = OffsetDateTime::now_utc() + Duration::seconds(CHALLENGE_TTL_S);
        crate::unit_of_work::retried(budget, || async {
            let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
            data::users::clear_sign_in_failures(&mut tx, &name_key).await?;
            if let Some(source) = &source {
                data::users::forgive_sign_in_attempt(&mut tx, source).await?;
            }
            data::sessions::insert_challenge(&mut tx, user.id, &challenge_hash, expires_at, client)
                .await?;
            tx.commit().await.map_err(data::DataError::from)?;
            Ok(())
        })
        .await?;
        return Ok(SignIn::SecondFactor(SecondFactorChallenge {
            second_factor_required: true,
            challenge,
            expires_at,
        }));
    }
    let device = Device {
        replaces: device_hash.filter(|_| known_device),
    };
    let session = start_session(
        state,
        &user,
        client,
        Some(&name_key),
        source.as_deref(),
        device,
    )
    .await?;
    Ok(SignIn::Session(session))
}

/// What the audit log says of a sign-in: who, from where.
fn sign_in_details(user: &data::users::UserRow, client: &ClientInfo) -> serde_json::Value {
    serde_json::json!({
        "username": user.username,
        "ip": client.ip,
        "user_agent": client.user_agent,
    })
}

/// Audits a wrong password given for an existing user (`session.sign_in_failed`), or a wrong
/// second-factor code after the right password (`session.second_factor_failed`); a failure to
/// audit it is logged.
async fn audit_failed_sign_in(
    state: &AppState,
    user: &data::users::UserRow,
    client: &ClientInfo,
    action: &'static str,
) {
    let written = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            crate::audit::record(
                &mut *tx,
                None,
                None,
                crate::audit::Change {
                    action,
                    subject_type: "user",
                    subject_id: user.id.to_string(),
                    before: None,
                    after: Some(crate::audit::with_customer(
                        sign_in_details(user, client),
                        user.customer_id,
                    )),
                },
            )
            .await
        })
    })
    .await;
    if let Err(error) = written {
        tracing::warn!(user_id = %user.id, %error, action, "a failed sign-in was not audited");
    }
}

/// Finishes a sign-in with a TOTP code or a recovery code. A challenge allows
/// [`CHALLENGE_ATTEMPTS_MAX`] tries within [`CHALLENGE_TTL_S`].
pub async fn second_factor(
    state: &AppState,
    challenge: &str,
    code: &str,
) -> Result<SessionResponse, ApiError> {
    let challenge_hash = secrets::digest(challenge);
    let code = code.trim().to_owned();
    let outcome = crate::unit_of_work::retried(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let Some(row) = data::sessions::take_challenge_attempt(
            &mut tx,
            &challenge_hash,
            CHALLENGE_ATTEMPTS_MAX,
        )
        .await?
        else {
            return Ok(None);
        };
        // Counted per account before the code is checked, so new challenges buy no new guesses.
        let key = second_factor_key(row.user_id);
        if let Some(wait_s) =
            take_attempt(&mut tx, &key, SECOND_FACTOR_FAILURES_BEFORE_LOCK).await?
        {
            tx.commit().await.map_err(data::DataError::from)?;
            return Err(ApiError::TooManyRequests {
                code: ProblemCode::SecondFactorThrottled,
                detail: "too many wrong codes for this account; wait before trying again",
                retry_after_s: wait_s,
            });
        }
        let user = data::users::find_user(&mut tx, row.user_id)
            .await?
            .ok_or_else(|| ApiError::Internal("challenge without user".into()))?;
        let accepted =
            crate::security::accept_code(&mut tx, &state.server_key, &user, &code).await?;
        if accepted && !user.disabled {
            data::sessions::use_challenge(&mut tx, row.id).await?;
            data::users::clear_sign_in_failures(&mut tx, &key).await?;
        }
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(Some((accepted && !user.disabled, user, row)))
    })
    .await?;
    let Some((accepted, user, row)) = outcome else {
        return Err(ApiError::Unauthenticated {
            code: ProblemCode::ChallengeInvalid,
            detail: "this sign-in has expired or used all its attempts; sign in again",
        });
    };
    let client = ClientInfo {
        user_agent: row.user_agent,
        ip: row.client_ip,
    };
    if !accepted {
        // Whoever sent it knew the password: the holder sees it among their sign-in's activity.
        if !user.disabled {
            audit_failed_sign_in(state, &user, &client, "session.second_factor_failed").await;
        }
        return Err(ApiError::Unauthenticated {
            code: ProblemCode::InvalidSecondFactor,
            detail: "the code is not correct",
        });
    }
    start_session(state, &user, &client, None, None, Device { replaces: None }).await
}

/// The device a session starts on: it is given a new device token, which replaces the one it
/// presented if that was known.
struct Device {
    replaces: Option<Vec<u8>>,
}

async fn start_session(
    state: &AppState,
    user: &data::users::UserRow,
    client: &ClientInfo,
    clear_failures_of: Option<&str>,
    forgive_source: Option<&str>,
    device: Device,
) -> Result<SessionResponse, ApiError> {
    let token = secrets::generate("bts");
    let token_hash = secrets::digest(&token);
    let now = OffsetDateTime::now_utc();
    let expires_at = now + Duration::seconds(state.settings.session_ttl_s);
    let device_token = secrets::generate("bdt");
    let device_hash = secrets::digest(&device_token);
    let token_hash = &token_hash;
    let device_hash = &device_hash;
    let replaces = device.replaces.as_deref();
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            data::sessions::remember_device(
                &mut *tx,
                user.id,
                device_hash,
                replaces,
                now + Duration::seconds(DEVICE_TTL_S),
                DEVICES_KEPT,
            )
            .await?;
            if let Some(username) = clear_failures_of {
                data::users::clear_sign_in_failures(&mut *tx, username).await?;
            }
            if let Some(source) = forgive_source {
                data::users::forgive_sign_in_attempt(&mut *tx, source).await?;
            }
            data::sessions::insert_session(
                &mut *tx,
                Uuid::now_v7(),
                user.id,
                token_hash,
                expires_at,
                client,
            )
            .await?;
            crate::audit::user_event(
                &mut *tx,
                (user.id, user.customer_id),
                "session.sign_in",
                ("user", user.id.to_string()),
                sign_in_details(user, client),
            )
            .await
        })
    })
    .await?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(SessionResponse {
        token,
        expires_at,
        device_token: Some(device_token),
        user: UserResponse {
            id: user.id,
            username: user.username.clone(),
            role: user.role.into_wire(),
            customer_id: user.customer_id,
            password_change_due: user.password_change_due,
            second_factor_due: state.settings.staff_second_factor_required
                && matches!(user.role, Role::Teller | Role::Supervisor | Role::Admin)
                && user.totp_secret.is_none(),
        },
    })
}

pub async fn sign_out(state: &AppState, user: &SessionUser) -> Result<(), ApiError> {
    crate::unit_of_work::read(state, |conn, _| {
        Box::pin(
            async move { Ok(data::sessions::revoke_session(&mut *conn, user.session_id).await?) },
        )
    })
    .await
}

/// Signs the user out of every session, this one included.
pub async fn sign_out_everywhere(state: &AppState, user: &SessionUser) -> Result<u64, ApiError> {
    crate::unit_of_work::read(state, |conn, _| {
        Box::pin(
            async move { Ok(data::sessions::revoke_all_sessions(&mut *conn, user.user_id).await?) },
        )
    })
    .await
}

/// Who chose a new user's first password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPassword {
    /// Someone else (a teller, an admin) who knows it: the user must replace it before anything.
    ChosenForThem,
    /// A published password (the demonstration data's, listed in the README, and test fixtures'),
    /// kept as it is.
    Published,
}

/// Creates a user's sign-in; used when onboarding a customer, creating staff and seeding.
pub async fn new_user(
    conn: &mut data::PgConnection,
    username: &str,
    (password, chosen): (String, FirstPassword),
    role: Role,
    customer_id: Option<Uuid>,
) -> Result<Uuid, ApiError> {
    password::check_policy(&password, &[username])?;
    let hash = password::hash(password).await?;
    let id = Uuid::now_v7();
    data::users::insert_user(
        conn,
        &data::users::NewUser {
            id,
            username,
            password_hash: &hash,
            role,
            customer_id,
            password_change_due: chosen == FirstPassword::ChosenForThem,
        },
    )
    .await
    .map_err(|e| match e.violation() {
        Some(data::Violation::UsernameTaken) => ApiError::Conflict {
            code: ProblemCode::UsernameTaken,
            detail: "this username is taken".into(),
        },
        _ => ApiError::from(e),
    })?;
    Ok(id)
}

/// Whose sign-in a member of staff resets.
#[derive(Debug, Clone, Copy)]
pub enum ResetOf {
    /// A customer's web banking sign-in: a teller or supervisor, once they have checked who is
    /// asking (at the counter, with the identity document on record).
    Customer(Uuid),
    /// A member of staff's: an admin, never their own (they change it themselves).
    Staff(Uuid),
}

/// Gives someone who lost their sign-in (a forgotten password, a lost authenticator and its
/// recovery codes, a lock they cannot wait out) a way back in: a password the member of staff
/// chose, which must be replaced before anything else; no second factor (staff enrol a new one
/// at their next sign-in); every session ended, and the name's failed attempts forgotten. In one
/// transaction, with its audit record.
pub async fn reset_sign_in(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    of: ResetOf,
    password: String,
) -> Result<bank_api::customers::SignInResetResponse, ApiError> {
    let (id, customer_id) = match of {
        ResetOf::Customer(customer) => {
            staff.require_role(&[Role::Teller, Role::Supervisor])?;
            (None, Some(customer))
        }
        ResetOf::Staff(user) => {
            staff.require_role(&[Role::Admin])?;
            if user == staff.user_id {
                return Err(ApiError::refused(
                    ProblemCode::OwnAccess,
                    "you cannot reset your own sign-in; change your password on your own page, \
                     or ask another admin",
                ));
            }
            (Some(user), None)
        }
    };
    let not_found = move || match of {
        ResetOf::Customer(_) => ApiError::NotFound {
            code: ProblemCode::CustomerNotFound,
            detail: "no such customer",
        },
        ResetOf::Staff(_) => ApiError::NotFound {
            code: ProblemCode::StaffNotFound,
            detail: "no such member of staff",
        },
    };
    // Who it is, and the words an attacker would try first in their new password.
    let (user, holder) = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            let holder = match customer_id {
                Some(id) => Some(
                    data::customers::find_customer(&mut *conn, id)
                        .await?
                        .ok_or_else(not_found)?,
                ),
                None => None,
            };
            let user = match (id, customer_id) {
                (Some(id), _) => data::users::find_user(&mut *conn, id).await?,
                (None, Some(customer)) => {
                    data::users::find_customer_user(&mut *conn, customer).await?
                }
                (None, None) => None,
            };
            Ok((user, holder))
        })
    })
    .await?;
    let user = match (user, of) {
        (Some(user), ResetOf::Staff(_))
            if matches!(user.role, Role::Teller | Role::Supervisor | Role::Admin) =>
        {
            user
        }
        (Some(user), ResetOf::Customer(_)) if user.role == Role::Customer => user,
        (None, ResetOf::Customer(_)) => {
            return Err(ApiError::refused(
                ProblemCode::NoSignIn,
                "this customer has no web banking sign-in to reset",
            ));
        }
        _ => return Err(not_found()),
    };
    let birth_year = holder
        .as_ref()
        .and_then(|h| h.date_of_birth)
        .map(|day| day.year().to_string());
    let mut personal = vec![user.username.as_str()];
    if let Some(holder) = &holder {
        personal.extend([holder.full_name.as_str(), holder.email.as_str()]);
        personal.extend(holder.phone.as_deref());
        personal.extend(holder.id_document.as_deref());
    }
    personal.extend(birth_year.as_deref());
    password::check_policy(&password, &personal)?;
    // Not the password they have, nor one they had: the reset is for a password that leaked.
    let user_id = user.id;
    let mut had = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(
            async move { Ok(data::users::previous_password_hashes(&mut *conn, user_id).await?) },
        )
    })
    .await?;
    had.push(user.password_hash.clone());
    if password::matches_any(password.clone(), had).await? {
        return Err(ApiError::invalid(
            ProblemCode::PasswordReused,
            "password",
            "this is the password they have, or one of their last four: choose another",
        ));
    }
    let hash = password::hash(password).await?;
    let (user_id, username) = (user.id, user.username.clone());
    crate::unit_of_work::write(state, |tx, _| {
        let (hash, username) = (hash.clone(), username.clone());
        Box::pin(async move {
            // Locked, and read again: the user may have changed since it was read above.
            let locked = data::users::lock_user(&mut *tx, user_id)
                .await?
                .filter(|u| u.username == username)
                .ok_or_else(not_found)?;
            let second_factor_removed =
                data::users::reset_sign_in(&mut *tx, locked.id, &hash).await?;
            let sessions_ended = data::sessions::revoke_all_sessions(&mut *tx, locked.id).await?;
            // The name's lock, and the lock on wrong second-factor codes: the new sign-in, and
            // the new authenticator staff enrol with it, must work at once.
            data::users::clear_sign_in_failures(&mut *tx, &locked.username).await?;
            data::users::clear_sign_in_failures(&mut *tx, &second_factor_key(locked.id)).await?;
            let reset = bank_api::customers::SignInResetResponse {
                username: locked.username.clone(),
                second_factor_removed,
                sessions_ended,
            };
            crate::audit::record(
                &mut *tx,
                Some(staff.user_id),
                request_id,
                crate::audit::Change {
                    action: "user.sign_in_reset",
                    subject_type: "user",
                    subject_id: locked.id.to_string(),
                    before: Some(serde_json::json!({
                        "username": locked.username,
                        "customer_id": locked.customer_id,
                        "second_factor": second_factor_removed,
                        "password_change_due": locked.password_change_due,
                    })),
                    after: Some(serde_json::json!({
                        "username": locked.username,
                        "customer_id": locked.customer_id,
                        "second_factor": false,
                        "password_change_due": true,
                        "sessions_ended": sessions_ended,
                    })),
                },
            )
            .await?;
            Ok(reset)
        })
    })
    .await
}
