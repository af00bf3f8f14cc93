//! Administration: staff users and their roles, and the bank's limits. Admins only; every change
//! is audited with before and after.

use bank_api::ProblemCode;
use data::users::Role;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::money::format_in_scale;
use crate::domain::{Amount, Currency};
use crate::error::ApiError;
use crate::identity::FirstPassword;
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{CurrencyLimitsResponse, StaffListResponse, StaffResponse};

fn staff_not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::StaffNotFound,
        detail: "no such member of staff",
    }
}

fn staff_role(role: Role) -> Result<Role, ApiError> {
    match role {
        Role::Teller | Role::Supervisor | Role::Admin => Ok(role),
        Role::Customer | Role::Service => Err(ApiError::invalid(
            ProblemCode::InvalidField,
            "role",
            "staff are tellers, supervisors or admins; customers are onboarded as customers and \
             services get API keys",
        )),
    }
}

/// A page of staff in order of username.
pub async fn list_staff(
    state: &AppState,
    admin: &SessionUser,
    cursor: Option<&str>,
    limit: i64,
) -> Result<StaffListResponse, ApiError> {
    admin.require_role(&[Role::Admin])?;
    let after: Option<String> = cursor.map(crate::cursor::decode).transpose()?;
    let after = &after;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            Ok(data::users::list_staff(&mut *conn, after.as_deref(), limit + 1).await?)
        })
    })
    .await?;
    let (rows, next_cursor) =
        crate::cursor::page(rows, limit, |row| crate::cursor::encode(&row.username));
    Ok(StaffListResponse {
        staff: rows.iter().map(StaffResponse::from_data).collect(),
        next_cursor,
    })
}

/// Creates a member of staff with an initial password the admin hands over.
pub async fn create_staff(
    state: &AppState,
    admin: &SessionUser,
    request_id: Option<&str>,
    username: &str,
    password: String,
    role: Role,
) -> Result<StaffResponse, ApiError> {
    admin.require_role(&[Role::Admin])?;
    let role = staff_role(role)?;
    let username = crate::domain::text::username(username)?;
    crate::auth::password::check_policy(&password, &[&username])?;
    let username = &username;
    let password = &password;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let id = crate::identity::new_user(
                &mut *tx,
                username,
                (password.clone(), FirstPassword::ChosenForThem),
                role,
                None,
            )
            .await?;
            let row = data::users::lock_staff(&mut *tx, id)
                .await?
                .ok_or_else(staff_not_found)?;
            let response = StaffResponse::from_data(&row);
            crate::audit::record(
                &mut *tx,
                Some(admin.user_id),
                request_id,
                crate::audit::Change {
                    action: "staff.create",
                    subject_type: "user",
                    subject_id: id.to_string(),
                    before: None,
                    after: serde_json::to_value(&response).ok(),
                },
            )
            .await?;
            Ok(response)
        })
    })
    .await
}

/// Changes a member of staff's role or disables their access (which ends their sessions). An
/// admin cannot demote or disable themselves, so the bank always keeps an admin who can act.
pub async fn update_staff(
    state: &AppState,
    admin: &SessionUser,
    request_id: Option<&str>,
    id: Uuid,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<StaffResponse, ApiError> {
    admin.require_role(&[Role::Admin])?;
    let role = role.map(staff_role).transpose()?;
    if id == admin.user_id && (role.is_some_and(|r| r != Role::Admin) || disabled == Some(true)) {
        return Err(ApiError::refused(
            ProblemCode::OwnAccess,
            "you cannot remove your own admin access; ask another admin",
        ));
    }
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let before = data::users::lock_staff(&mut *tx, id)
                .await?
                .ok_or_else(staff_not_found)?;
            let new_role = role.unwrap_or(before.role);
            let new_disabled = disabled.unwrap_or(before.disabled);
            data::users::set_role_and_access(&mut *tx, id, new_role, new_disabled).await?;
            if new_disabled || new_role != before.role {
                // A new role or no access at all: their sessions end now.
                data::sessions::revoke_all_sessions(&mut *tx, id).await?;
            }
            let after = data::users::lock_staff(&mut *tx, id)
                .await?
                .ok_or_else(staff_not_found)?;
            let (before, after) = (
                StaffResponse::from_data(&before),
                StaffResponse::from_data(&after),
            );
            crate::audit::record(
                &mut *tx,
                Some(admin.user_id),
                request_id,
                crate::audit::Change {
                    action: "staff.update",
                    subject_type: "user",
                    subject_id: id.to_string(),
                    before: serde_json::to_value(&before).ok(),
                    after: serde_json::to_value(&after).ok(),
                },
            )
            .await?;
            Ok(after)
        })
    })
    .await
}

fn limits_response(row: &data::limits::CurrencyLimitsRow) -> CurrencyLimitsResponse {
    CurrencyLimitsResponse {
        currency: row.currency.clone(),
        approval_threshold: format_in_scale(row.approval_threshold, &row.currency),
        daily_transfer_limit: format_in_scale(row.daily_transfer_limit, &row.currency),
        updated_at: row.updated_at,
        updated_by: row.updated_by_username.clone(),
    }
}

/// The limits of every currency; staff may read them (tellers need to know the threshold).
pub async fn limits(
    state: &AppState,
    user: &SessionUser,
) -> Result<Vec<CurrencyLimitsResponse>, ApiError> {
    user.require_role(&[Role::Teller, Role::Supervisor, Role::Admin])?;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::limits::currency_limits(&mut *conn).await?) })
    })
    .await?;
    Ok(rows.iter().map(limits_response).collect())
}

pub async fn set_limits(
    state: &AppState,
    admin: &SessionUser,
    request_id: Option<&str>,
    currency: Currency,
    approval_threshold: &str,
    daily_transfer_limit: &str,
) -> Result<Vec<CurrencyLimitsResponse>, ApiError> {
    admin.require_role(&[Role::Admin])?;
    let parse = |field: &'static str, text: &str| -> Result<Decimal, ApiError> {
        Ok(Amount::parse(text, currency)
            .map_err(|e| ApiError::invalid(ProblemCode::InvalidAmount, field, e.to_string()))?
            .value())
    };
    let threshold = parse("approval_threshold", approval_threshold)?;
    let daily = parse("daily_transfer_limit", daily_transfer_limit)?;
    crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let before = data::limits::lock_currency_limits(&mut *tx, currency.code())
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        ProblemCode::InvalidCurrency,
                        "currency",
                        "no limits for this currency",
                    )
                })?;
            data::limits::set_currency_limits(
                &mut *tx,
                currency.code(),
                threshold,
                daily,
                admin.user_id,
            )
            .await?;
            let after = data::limits::lock_currency_limits(&mut *tx, currency.code())
                .await?
                .ok_or_else(|| ApiError::Internal("limits vanished".into()))?;
            crate::audit::record(
                &mut *tx,
                Some(admin.user_id),
                request_id,
                crate::audit::Change {
                    action: "limits.update",
                    subject_type: "currency",
                    subject_id: currency.code().to_owned(),
                    before: serde_json::to_value(limits_response(&before)).ok(),
                    after: serde_json::to_value(limits_response(&after)).ok(),
                },
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    limits(state, admin).await
}
