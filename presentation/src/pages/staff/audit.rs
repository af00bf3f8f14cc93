//! The audit log for supervisors and admins: search, and verify the chain end to end.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{query_value, require};
use crate::error::PageError;
use crate::filters;
use crate::logic::types::{AuditRecord, Verification};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/audit", get(search))
        .route("/staff/audit/verify", post(verify))
}

#[derive(Debug, Default, Clone, Deserialize)]
struct SearchForm {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

impl SearchForm {
    fn query(&self) -> String {
        let mut query = String::new();
        for (name, value) in [
            ("actor", &self.actor),
            ("customer_id", &self.customer_id),
            ("account", &self.account),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                query.push_str(&format!("&{name}={}", query_value(value)));
            }
        }
        query
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_audit.html")]
struct AuditPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    form: SearchForm,
    records: Vec<AuditRecord>,
    next: Option<String>,
    verification: Option<Verification>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    form: SearchForm,
    verification: Option<Verification>,
) -> Result<AuditPage, PageError> {
    require(staff, &["supervisor", "admin"])?;
    let filters = form.query();
    let cursor = if form.cursor.is_empty() {
        String::new()
    } else {
        format!("&cursor={}", query_value(&form.cursor))
    };
    let (records, next, error) = match state
        .logic
        .audit(staff.caller(), &format!("{filters}{cursor}"))
        .await
    {
        Ok(list) => (
            list.records,
            list.next_cursor.map(|c| {
                format!(
                    "/staff/audit?{}&cursor={}",
                    filters.trim_start_matches('&'),
                    query_value(&c)
                )
            }),
            None,
        ),
        Err(crate::logic::LogicError::Problem(problem)) if problem.status == 422 => {
            (Vec::new(), None, Some(super::refusal_words(problem.code)))
        }
        Err(error) => return Err(error.into()),
    };
    Ok(AuditPage {
        csrf: staff.csrf(),
        section: "audit",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        form,
        records,
        next,
        verification,
        error,
        notice: None,
    })
}

async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(form): Query<SearchForm>,
) -> Result<AuditPage, PageError> {
    page(&state, &staff, form, None).await
}

/// Checks the whole chain and ledger now and shows the result above the log.
async fn verify(State(state): State<AppState>, staff: Staff) -> Result<AuditPage, PageError> {
    require(&staff, &["supervisor", "admin"])?;
    let verification = state.logic.verify_audit(staff.caller()).await?;
    page(&state, &staff, SearchForm::default(), Some(verification)).await
}
