//! A user's own security settings: the TOTP second factor and its recovery codes, the password,
//! and the list of live sessions.

use data::PgConnection;
use data::users::UserRow;
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;

use crate::auth::{SessionUser, password, secrets};
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{RecoveryCodesResponse, SessionInfo, SessionListResponse, TotpEnrolmentResponse};

/// Issuer shown in authenticator apps.
const TOTP_ISSUER: &str = "Bank";
/// RFC 4226 recommends at least 128 bits of shared secret; 160 is what SHA-1 HMAC takes whole.
const TOTP_SECRET_BYTES: usize = 20;
/// Recovery codes issued at once: enough to cover a lost phone until a new one is enrolled.
const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code, without ambiguous ones (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn totp(secret: &[u8], account: &str) -> Result<Totp, ApiError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|e| ApiError::Internal(format!("build a TOTP: {e:?}")))
}

/// Whether `code` is a valid, unused TOTP code or recovery code of the user; spends it if so.
/// Runs inside the caller's transaction.
pub async fn accept_code(
    conn: &mut PgConnection,
    user: &UserRow,
    code: &str,
) -> Result<bool, ApiError> {
    let Some(secret) = &user.totp_secret else {
        return Ok(false);
    };
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let Some(step) = totp(secret, &user.username)?.check_current(&digits) else {
            return Ok(false);
        };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        return Ok(data::users::advance_totp_step(conn, user.id, step).await?);
    }
    let normalised = code.trim().to_ascii_lowercase();
    if normalised.len() > 32 {
        return Ok(false);
    }
    Ok(data::users::use_recovery_code(conn, user.id, &secrets::digest(&normalised)).await?)
}

/// Starts enrolment: a new secret, pending until [`confirm_totp`] sees a code made from it. To
/// replace a second factor that is on (and with it the recovery codes), the user proves who they
/// are again: the password and a current code, not the session's token alone.
pub async fn enrol_totp(
    state: &AppState,
    user: &SessionUser,
    password: Option<String>,
    code: Option<&str>,
) -> Result<TotpEnrolmentResponse, ApiError> {
    let enabled = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::users::find_user(&mut conn, user.user_id).await?)
    })
    .await?
    .is_some_and(|row| row.totp_secret.is_some());
    if enabled {
        let missing = if password.is_none() {
            "password"
        } else {
            "code"
        };
        let (Some(password), Some(code)) = (password, code) else {
            return Err(ApiError::invalid(
                "reauthentication_required",
                missing,
                "two-step sign-in is on: replacing it needs your password and a current code",
            ));
        };
        verify_own_password(state, user, password, "password").await?;
        verify_own_code(state, user, code).await?;
    }
    let mut secret = [0u8; TOTP_SECRET_BYTES];
    getrandom::fill(&mut secret).expect("the operating system's random source");
    let totp = totp(&secret, &user.username)?;
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::users::set_pending_totp_secret(&mut conn, user.user_id, &secret).await?)
    })
    .await?;
    Ok(TotpEnrolmentResponse {
        secret: totp.secret().to_base32(),
        otpauth_url: totp
            .to_url()
            .map_err(|e| ApiError::Internal(format!("{e:?}")))?,
    })
}

/// Completes enrolment with a code from the new secret and issues recovery codes, shown once.
pub async fn confirm_totp(
    state: &AppState,
    user: &SessionUser,
    code: &str,
) -> Result<RecoveryCodesResponse, ApiError> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| secrets::digest(c)).collect();
    let code = code.trim().to_owned();
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let row = data::users::find_user(&mut tx, user.user_id)
            .await?
            .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
        let Some(pending) = &row.totp_pending_secret else {
            return Err(ApiError::refused(
                "totp_not_pending",
                "start the enrolment first",
            ));
        };
        let Some(step) = totp(pending, &row.username)?.check_current(&code) else {
            return Err(ApiError::invalid(
                "invalid_second_factor",
                "code",
                "the code is not correct; check the time on your phone and try the next code",
            ));
        };
        data::users::enable_totp(
            &mut tx,
            user.user_id,
            i64::try_from(step).unwrap_or(i64::MAX),
        )
        .await?;
        data::users::replace_recovery_codes(&mut tx, user.user_id, &hashes).await?;
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(())
    })
    .await?;
    tracing::info!(user_id = %user.user_id, "second factor enabled");
    Ok(RecoveryCodesResponse {
        recovery_codes: codes,
    })
}

/// Turns the second factor off. The user proves who they are again, with the password and a
/// current code: with the password alone, a stolen session could turn it off and enrol its own.
pub async fn disable_totp(
    state: &AppState,
    user: &SessionUser,
    password: String,
    code: &str,
) -> Result<(), ApiError> {
    verify_own_password(state, user, password, "password").await?;
    verify_own_code(state, user, code).await?;
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::users::disable_totp(&mut conn, user.user_id).await?)
    })
    .await
}

/// Changes the password and signs every other session out.
pub async fn change_password(
    state: &AppState,
    user: &SessionUser,
    current: String,
    new: String,
) -> Result<(), ApiError> {
    password::check_policy(&new)?;
    if new == current {
        return Err(ApiError::invalid(
            "weak_password",
            "new_password",
            "choose a password you have not used here",
        ));
    }
    verify_own_password(state, user, current, "current_password").await?;
    let hash = password::hash(new).await?;
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        data::users::set_password_hash(&mut tx, user.user_id, &hash).await?;
        data::sessions::revoke_other_sessions(&mut tx, user.user_id, user.session_id).await?;
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(())
    })
    .await?;
    tracing::info!(user_id = %user.user_id, "password changed; other sessions signed out");
    Ok(())
}

/// The user's own password, refused as `field` when wrong.
async fn verify_own_password(
    state: &AppState,
    user: &SessionUser,
    password: String,
    field: &'static str,
) -> Result<(), ApiError> {
    // Counted before the check, as a sign-in is: a stolen token buys no password guesses.
    crate::identity::take_check(state, &user.username, crate::identity::FAILURES_BEFORE_LOCK)
        .await?;
    let row = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::users::find_user(&mut conn, user.user_id).await?)
    })
    .await?
    .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
    if password.chars().count() > password::PASSWORD_MAX_CHARS
        || !password::verify(password, row.password_hash).await
    {
        return Err(ApiError::invalid(
            "invalid_current_password",
            field,
            "your current password is not correct",
        ));
    }
    crate::identity::clear_checks(state, &user.username).await
}

/// A current code of the user's second factor (or a recovery code, which it spends), counted
/// per account before it is checked.
async fn verify_own_code(state: &AppState, user: &SessionUser, code: &str) -> Result<(), ApiError> {
    let key = crate::identity::second_factor_key(user.user_id);
    crate::identity::take_check(
        state,
        &key,
        crate::identity::SECOND_FACTOR_FAILURES_BEFORE_LOCK,
    )
    .await?;
    let accepted = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let row = data::users::find_user(&mut tx, user.user_id)
            .await?
            .ok_or_else(|| ApiError::Internal("signed-in user vanished".into()))?;
        let accepted = accept_code(&mut tx, &row, code).await?;
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(accepted)
    })
    .await?;
    if !accepted {
        return Err(ApiError::invalid(
            "invalid_second_factor",
            "code",
            "the code is not correct",
        ));
    }
    crate::identity::clear_checks(state, &key).await
}

/// A page of the user's live sessions, newest sign-in first.
pub async fn sessions(
    state: &AppState,
    user: &SessionUser,
    cursor: Option<&str>,
    limit: i64,
) -> Result<SessionListResponse, ApiError> {
    let before = cursor.map(crate::cursor::decode_time).transpose()?;
    let rows = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::sessions::list_live_sessions(
            &mut conn,
            user.user_id,
            state.settings.session_idle_s,
            before,
            limit + 1,
        )
        .await?)
    })
    .await?;
    let (rows, next_cursor) = crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_time(row.created_at, row.id)
    });
    Ok(SessionListResponse {
        next_cursor,
        sessions: rows
            .into_iter()
            .map(|row| SessionInfo {
                current: row.id == user.session_id,
                id: row.id,
                created_at: row.created_at,
                last_seen_at: row.last_seen_at,
                expires_at: row.expires_at,
                user_agent: row.user_agent,
                client_ip: row.client_ip,
            })
            .collect(),
    })
}

pub async fn totp_enabled(state: &AppState, user_id: Uuid) -> Result<bool, ApiError> {
    let row = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::users::find_user(&mut conn, user_id).await?)
    })
    .await?;
    Ok(row.is_some_and(|r| r.totp_secret.is_some()))
}

/// Eight characters from an unambiguous alphabet, as `xxxx-xxxx`: about 40 bits each.
fn recovery_code() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    let chars: String = bytes
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(*b) % RECOVERY_ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}
