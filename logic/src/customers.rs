//! Customers: onboarding by staff, and reading a profile.

use data::customers::NewCustomer;
use data::users::Role;
use time::Date;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::domain::text;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::CustomerResponse;

/// Longest name accepted, as in the `customers.full_name` column.
const FULL_NAME_MAX_CHARS: usize = 200;

/// A parsed onboarding request.
#[derive(Debug, Clone)]
pub struct Onboarding {
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<Date>,
    /// The customer's sign-in for the web banking portal, if they get one now.
    pub login: Option<(String, String)>,
}

impl Onboarding {
    pub fn parse(
        full_name: &str,
        email: &str,
        phone: Option<&str>,
        date_of_birth: Option<Date>,
        login: Option<(&str, String)>,
    ) -> Result<Self, ApiError> {
        let today = time::OffsetDateTime::now_utc().date();
        if let Some(born) = date_of_birth
            && (born > today || born.year() < today.year() - 130)
        {
            return Err(ApiError::invalid(
                "invalid_field",
                "date_of_birth",
                "the date of birth must be a real date in the past",
            ));
        }
        Ok(Self {
            full_name: text::required("full_name", full_name, FULL_NAME_MAX_CHARS)?,
            email: text::email(email)?,
            phone: phone.map(text::phone).transpose()?,
            date_of_birth,
            login: match login {
                Some((username, password)) => {
                    crate::auth::password::check_policy(&password)?;
                    Some((text::username(username)?, password))
                }
                None => None,
            },
        })
    }
}

pub async fn onboard(
    state: &AppState,
    staff: &SessionUser,
    request_id: Option<&str>,
    onboarding: &Onboarding,
) -> Result<CustomerResponse, ApiError> {
    staff.require_role(&[Role::Teller, Role::Supervisor, Role::Admin])?;
    crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
        let row = data::customers::insert_customer(
            &mut tx,
            &NewCustomer {
                id: Uuid::new_v4(),
                full_name: &onboarding.full_name,
                email: &onboarding.email,
                phone: onboarding.phone.as_deref(),
                date_of_birth: onboarding.date_of_birth,
            },
        )
        .await
        .map_err(|e| match e.violation() {
            Some(data::Violation::EmailTaken) => ApiError::Conflict {
                code: "email_taken",
                detail: "another customer has this email address".into(),
            },
            _ => ApiError::from(e),
        })?;
        let username = match &onboarding.login {
            Some((username, password)) => {
                crate::identity::new_user(
                    &mut tx,
                    username,
                    password.clone(),
                    Role::Customer,
                    Some(row.id),
                )
                .await?;
                Some(username.clone())
            }
            None => None,
        };
        let response = CustomerResponse {
            id: row.id,
            full_name: row.full_name,
            email: row.email,
            phone: row.phone,
            date_of_birth: row.date_of_birth,
            username,
            created_at: row.created_at,
        };
        data::audit::append(
            &mut tx,
            &data::audit::NewAuditRecord {
                actor_user_id: Some(staff.user_id),
                actor_service: None,
                action: "customer.create",
                subject_type: "customer",
                subject_id: response.id.to_string(),
                before: None,
                after: serde_json::to_value(&response).ok(),
                request_id,
            },
        )
        .await?;
        tx.commit().await.map_err(data::DataError::from)?;
        Ok(response)
    })
    .await
}

/// A customer's profile: staff see any, a customer sees only their own.
pub async fn profile(
    state: &AppState,
    user: &SessionUser,
    id: Uuid,
) -> Result<CustomerResponse, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "customer_not_found",
        detail: "no such customer",
    };
    if !user.is_staff() && user.customer_id != Some(id) {
        return Err(not_found());
    }
    let row = crate::retry::run(state.settings.retry_budget_ms, || async {
        let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
        Ok(data::customers::find_customer(&mut conn, id).await?)
    })
    .await?
    .ok_or_else(not_found)?;
    Ok(CustomerResponse {
        id: row.id,
        full_name: row.full_name,
        email: row.email,
        phone: row.phone,
        date_of_birth: row.date_of_birth,
        username: row.username,
        created_at: row.created_at,
    })
}
