//! Signing in and out. Passwords are verified here and nowhere else.
//!
//! A wrong password and an unknown username get the same answer after the same work: an unknown
//! username is verified against a dummy hash made with the same parameters. Failures are counted
//! per attempted username (existing or not); after [`FAILURES_BEFORE_LOCK`] in
//! [`FAILURE_WINDOW_S`], sign-ins for that name are refused for a lock that doubles with each
//! further failure, up to [`LOCK_MAX_S`].

use data::users::Role;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::auth::password::{self, PASSWORD_MAX_CHARS};
use crate::auth::{SessionUser, secrets};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{SecondFactorChallenge, SessionResponse, UserResponse};
use data::sessions::ClientInfo;

/// Failed sign-ins allowed per username in the window before it is locked: enough for typos.
pub const FAILURES_BEFORE_LOCK: i32 = 5;
/// Failures older than this are forgotten: fifteen minutes.
pub const FAILURE_WINDOW_S: i64 = 900;
/// The first lock, doubled for every failure past the limit.
pub const LOCK_FIRST_S: i64 = 30;
/// The longest lock: fifteen minutes, long enough to make guessing hopeless.
pub const LOCK_MAX_S: i64 = 900;

fn invalid_credentials() -> ApiError {
    ApiError::Unauthenticated {
        code: "invalid_credentials",
        detail: "the username or password is not correct",
    }
}

fn throttled(retry_after_s: u64) -> ApiError {
    ApiError::TooManyRequests {
        code: "sign_in_throttled",
        detail: "too many failed sign-ins for this username; wait before trying again",
        retry_after_s,
    }
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
) -> Result<SignIn, ApiError> {
    // Malformed names and oversized passwords cannot match; they get the same answer as any
    // other failure, after the same work.
    let username = crate::domain::text::username(username).unwrap_or_default();
    let password_fits = !password.is_empty() && password.chars().count() <= PASSWORD_MAX_CHARS;
    let budget = state.settings.retry_budget_ms;

    let (locked_until, user) = crate::retry::run(budget, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        let locked = data::users::sign_in_locked_until(&mut conn, &username).await?;
        let user = data::users::find_user_by_username(&mut conn, &username).await?;
        Ok((locked, user))
    })
    .await?;
    if let Some(until) = locked_until {
        let wait_s = (until - OffsetDateTime::now_utc()).whole_seconds().max(1);
        return Err(throttled(u64::try_from(wait_s).unwrap_or(1)));
    }

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
        _ => {
            record_failure(state, &username).await?;
            return Err(invalid_credentials());
        }
    };

    if user.totp_secret.is_some() {
        let challenge = secrets::generate("btc");
        let challenge_hash = secrets::digest(&challenge);
        let expires_at = OffsetDateTime::now_utc() + Duration::seconds(CHALLENGE_TTL_S);
        crate::retry::run(budget, || async {
            let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
            data::users::clear_sign_in_failures(&mut tx, &username).await?;
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
    let session = start_session(state, &user, client, Some(&username)).await?;
    Ok(SignIn::Session(session))
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
    let outcome = crate::retry::run(state.settings.retry_budget_ms, || async {
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
        let user = data::users::find_user(&mut tx, row.user_id)
            .await?
            .ok_or_else(|| ApiError::Internal("challenge without user".into()))?;
        let accepted = crate::security::accept_code(&mut tx, &user, &code).await?;
        if accepted && !user.disabled {
            data::sessions::use_challenge(&mut tx, row.id).await?;
        }
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(Some((accepted && !user.disabled, user, row)))
    })
    .await?;
    let Some((accepted, user, row)) = outcome else {
        return Err(ApiError::Unauthenticated {
            code: "challenge_invalid",
            detail: "this sign-in has expired or used all its attempts; sign in again",
        });
    };
    if !accepted {
        return Err(ApiError::Unauthenticated {
            code: "invalid_second_factor",
            detail: "the code is not correct",
        });
    }
    let client = ClientInfo {
        user_agent: row.user_agent,
        ip: row.client_ip,
    };
    start_session(state, &user, &client, None).await
}

async fn start_session(
    state: &AppState,
    user: &data::users::UserRow,
    client: &ClientInfo,
    clear_failures_of: Option<&str>,
) -> Result<SessionResponse, ApiError> {
    let token = secrets::generate("bts");
    let token_hash = secrets::digest(&token);
    let expires_at = OffsetDateTime::now_utc() + Duration::seconds(state.settings.session_ttl_s);
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        if let Some(username) = clear_failures_of {
            data::users::clear_sign_in_failures(&mut tx, username).await?;
        }
        data::sessions::insert_session(
            &mut tx,
            Uuid::new_v4(),
            user.id,
            &token_hash,
            expires_at,
            client,
        )
        .await?;
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(())
    })
    .await?;
    tracing::info!(user_id = %user.id, "signed in");
    Ok(SessionResponse {
        token,
        expires_at,
        user: UserResponse {
            id: user.id,
            username: user.username.clone(),
            role: user.role,
            customer_id: user.customer_id,
        },
    })
}

async fn record_failure(state: &AppState, username: &str) -> Result<(), ApiError> {
    if username.is_empty() {
        return Ok(());
    }
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let failures =
            data::users::record_sign_in_failure(&mut tx, username, FAILURE_WINDOW_S).await?;
        if let Some(lock_s) = lock_seconds(failures) {
            let until = OffsetDateTime::now_utc() + Duration::seconds(lock_s);
            data::users::lock_sign_in(&mut tx, username, until).await?;
            tracing::warn!(failures, lock_s, "sign-in locked after repeated failures");
        }
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(())
    })
    .await
}

/// How long to lock sign-ins after `failures` failures in the window, if at all.
pub fn lock_seconds(failures: i32) -> Option<i64> {
    let past = failures - FAILURES_BEFORE_LOCK;
    if past < 0 {
        return None;
    }
    let factor = 1i64
        .checked_shl(u32::try_from(past).unwrap_or(u32::MAX))
        .unwrap_or(i64::MAX);
    Some(LOCK_FIRST_S.saturating_mul(factor).min(LOCK_MAX_S))
}

pub async fn sign_out(state: &AppState, user: &SessionUser) -> Result<(), ApiError> {
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::sessions::revoke_session(&mut conn, user.session_id).await?)
    })
    .await
}

/// Signs the user out of every session, this one included.
pub async fn sign_out_everywhere(state: &AppState, user: &SessionUser) -> Result<u64, ApiError> {
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::sessions::revoke_all_sessions(&mut conn, user.user_id).await?)
    })
    .await
}

/// Creates a user's sign-in; used when onboarding a customer and when seeding staff.
pub async fn new_user(
    conn: &mut data::PgConnection,
    username: &str,
    password: String,
    role: Role,
    customer_id: Option<Uuid>,
) -> Result<Uuid, ApiError> {
    password::check_policy(&password)?;
    let hash = password::hash(password).await?;
    let id = Uuid::new_v4();
    data::users::insert_user(
        conn,
        &data::users::NewUser {
            id,
            username,
            password_hash: &hash,
            role,
            customer_id,
        },
    )
    .await
    .map_err(|e| match e.violation() {
        Some(data::Violation::UsernameTaken) => ApiError::Conflict {
            code: "username_taken",
            detail: "this username is taken".into(),
        },
        _ => ApiError::from(e),
    })?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_from_the_fifth_failure_and_stop_at_the_maximum() {
        assert_eq!(lock_seconds(4), None);
        assert_eq!(lock_seconds(5), Some(30));
        assert_eq!(lock_seconds(6), Some(60));
        assert_eq!(lock_seconds(9), Some(480));
        assert_eq!(lock_seconds(10), Some(900));
        assert_eq!(lock_seconds(1_000), Some(900));
    }
}
