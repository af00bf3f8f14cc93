//! A keyed action whose outcome is unknown: the logic tier did not answer a cash movement, a
//! drawer's opening, closing or vault move, or a reversal request, so it may or may not have been
//! carried out. The page says so instead of guessing, and resolves it by the action's
//! idempotency key: checked (carried out, or not), or sent again under the same key, which
//! carries it out once at most. A teller told "try again" on a fresh form would use a fresh key
//! and could pay cash out twice.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;

use super::{Acted, redirect_after};
use crate::error::PageError;
use crate::logic::LogicError;
use crate::logic::types::Approval;
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/staff/outcome", post(check))
}

/// A keyed action as the member of staff sent it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Where the action's form posts, and "Send it again" with it.
    pub action: String,
    /// The page the outcome is shown on.
    pub back: String,
    /// What it was, in words ("cash withdrawal of 50.00 EUR for account 12345678"), for the
    /// page's heading.
    pub what: String,
    /// The form's fields, the idempotency key among them, but not the CSRF token.
    pub fields: Vec<(String, String)>,
}

impl Sent {
    /// `what` keeps only the characters the check takes back (letters, digits, spaces and
    /// `.,-`): it names the action with what the member of staff typed.
    pub fn new(action: &str, back: &str, what: &str, fields: Vec<(String, String)>) -> Self {
        Self {
            action: action.to_owned(),
            back: back.to_owned(),
            what: what
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | ',' | '-'))
                .take(120)
                .collect(),
            fields,
        }
    }

    /// Whether cash changes hands in it: a movement at the counter or the drawer's.
    fn moves_cash(&self) -> bool {
        self.action.ends_with("/cash") || self.action.starts_with("/staff/drawer/")
    }

    fn key(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name == "idempotency_key")
            .map(|(_, value)| value.as_str())
            .filter(|key| !key.is_empty())
    }

    /// Read back from the check's form: the action's own fields travel prefixed with `sent.`.
    /// Both addresses must be staff pages of this portal, named by plain path segments: the
    /// form comes from the browser.
    fn from_form(form: &[(String, String)]) -> Option<Self> {
        let one = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.clone())
        };
        let sent = Self {
            action: one("action")?,
            back: one("back")?,
            what: one("what")?,
            fields: form
                .iter()
                .filter_map(|(name, value)| {
                    name.strip_prefix("sent.")
                        .map(|name| (name.to_owned(), value.clone()))
                })
                .collect(),
        };
        let staff_path = |path: &str| {
            path.strip_prefix("/staff/").is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.contains("//")
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'))
            })
        };
        let words = sent.what.len() <= 120
            && sent
                .what
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'.' | b',' | b'-'));
        (staff_path(&sent.action) && staff_path(&sent.back) && words && sent.key().is_some())
            .then_some(sent)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_outcome.html")]
struct OutcomePage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    sent: Sent,
    key: String,
    cash: bool,
    /// Checked: it was not carried out.
    not_carried_out: bool,
}

impl OutcomePage {
    fn new(staff: &Staff, sent: Sent, not_carried_out: bool) -> Self {
        Self {
            csrf: staff.csrf(),
            section: "outcome",
            username: staff.auth.username.clone(),
            role: staff.auth.role.clone(),
            key: sent.key().unwrap_or_default().to_owned(),
            cash: sent.moves_cash(),
            sent,
            not_carried_out,
        }
    }
}

/// [`redirect_after`] for a keyed action: an answer or a refusal is shown as there, but when the
/// logic tier did not answer, the outcome is unknown and the page says so (202), with the
/// means to resolve it by the key.
pub fn after_keyed(
    staff: &Staff,
    result: Result<impl Acted, LogicError>,
    sent: Sent,
    notice: &str,
) -> Result<Response, PageError> {
    match result {
        Err(LogicError::Unavailable(cause)) if sent.key().is_some() => {
            tracing::warn!(
                %cause,
                key = sent.key().unwrap_or_default(),
                action = %sent.action,
                "staff action's outcome unknown"
            );
            Ok((StatusCode::ACCEPTED, OutcomePage::new(staff, sent, false)).into_response())
        }
        other => redirect_after(other, &sent.back, notice),
    }
}

/// Whether the action under the key was carried out: back to its page with the notice if it
/// was (or with "sent for approval" if that was its answer), the offer to send it if it was not,
/// the same page again if the bank still does not answer.
async fn check(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let Some(sent) = Sent::from_form(&form) else {
        return Err(PageError::BadRequest(bank_api::ProblemCode::InvalidRequest));
    };
    let key = sent.key().unwrap_or_default().to_owned();
    match state.logic.answer_by_key(staff.caller(), &key).await {
        Ok(answer) => {
            let filed = serde_json::from_value::<Approval>(answer)
                .is_ok_and(|approval| approval.waits_for_approval());
            let notice = if filed { "pending" } else { "confirmed" };
            Ok(Redirect::to(&format!("{}?notice={notice}", sent.back)).into_response())
        }
        Err(LogicError::Problem(problem)) if problem.status == 404 => {
            Ok(OutcomePage::new(&staff, sent, true).into_response())
        }
        Err(LogicError::Unavailable(_)) => {
            Ok((StatusCode::ACCEPTED, OutcomePage::new(&staff, sent, false)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(action: &str, back: &str, what: &str, key: &str) -> Vec<(String, String)> {
        [
            ("csrf_token", "t"),
            ("action", action),
            ("back", back),
            ("what", what),
            ("sent.amount", "50.00"),
            ("sent.idempotency_key", key),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn a_sent_action_is_read_back_with_its_own_fields_only() {
        let sent = Sent::from_form(&form(
            "/staff/accounts/12345678/cash",
            "/staff/accounts/12345678",
            "cash withdrawal",
            "k-1",
        ))
        .unwrap();
        assert_eq!(sent.key(), Some("k-1"));
        assert_eq!(
            sent.fields,
            vec![
                ("amount".to_owned(), "50.00".to_owned()),
                ("idempotency_key".to_owned(), "k-1".to_owned())
            ]
        );
    }

    #[test]
    fn only_this_portals_staff_pages_are_gone_back_to() {
        for (action, back, what, key) in [
            ("https://evil.example/staff/x", "/staff/drawer", "cash", "k"),
            ("/staff/drawer/open", "//evil.example/", "cash", "k"),
            ("/staff/drawer/open", "/staff//evil.example", "cash", "k"),
            ("/staff/drawer/open", "/staff/drawer?notice=x", "cash", "k"),
            ("/staff/drawer/open", "/staff/../sign-in", "cash", "k"),
            ("/staff/drawer/open", "/staff/drawer", "<script>", "k"),
            ("/staff/drawer/open", "/staff/drawer", "cash", ""),
            ("/customers", "/staff/drawer", "cash", "k"),
        ] {
            assert!(
                Sent::from_form(&form(action, back, what, key)).is_none(),
                "{action} {back} {what} {key}"
            );
        }
    }
}
