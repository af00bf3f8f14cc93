//! The logic tier's endpoints, one method each, with the contract's request and answer types: a
//! path is spelt once, here, and a body cannot carry a field the logic tier does not read.

use bank_api::accounts::{
    FreezeRequest, HoldRequest, OpenAccountRequest, OverdraftRequest, ReasonRequest,
};
use bank_api::admin::{
    ApiKeyListResponse, ApiKeyResponse, ApiKeySecretResponse, CreateKeyRequest, CreateStaffRequest,
    RotateKeyRequest, SetLimitsRequest, UpdateStaffRequest,
};
use bank_api::approvals::{ApprovalStatus, DecisionRequest};
use bank_api::customers::{
    CreateCustomerRequest, IdentityFields, SetLimitRequest, SignInResetRequest,
};
use bank_api::drawers::{CloseDrawerRequest, OpenDrawerRequest, VaultTransferRequest};
use bank_api::payees::AddPayeeRequest;
use bank_api::sessions::{
    ChangePasswordRequest, ConfirmTotpRequest, DisableTotpRequest, EnrolTotpRequest,
    SecondFactorRequest,
};
use bank_api::transfers::{
    CashRequest, ReversalRequest, TransferCheckRequest, TransferCheckResponse, TransferRequest,
};
use bank_api::{AccountNumber, Currency};
use reqwest::Method;
use serde_json::Value;
use time::Date;
use uuid::Uuid;

use super::types::{
    Account, AccountList, ActivityList, Approval, ApprovalList, AuditList, Cluster, CustomerList,
    CustomerProfile, DailyLimitList, Drawer, DrawerList, History, Hold, HoldList, Limits, Me,
    Payee, PayeeList, RecoveryCodes, SecurityActivityList, Session, SessionInfo, SessionList,
    SignInReset, StaffList, StaffMember, Statement, TotpEnrolment, Transfer, Verification,
};
use super::{Caller, Filed, Logic, LogicError};

/// A query value, percent-encoded.
fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Logic {
    /// `GET /v1/accounts`, every page: the caller's own accounts.
    pub async fn my_accounts(&self, caller: Caller<'_>) -> Result<Vec<Account>, LogicError> {
        self.get_all::<AccountList>("/v1/accounts?limit=100", caller)
            .await
    }

    /// `GET /v1/accounts/{number}`.
    pub async fn account(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
    ) -> Result<Account, LogicError> {
        self.get(&format!("/v1/accounts/{number}"), caller).await
    }

    /// `GET /v1/accounts/{number}/entries`: a page of `limit` entries, newest first; `query` is
    /// the filter's own query string (dates, direction, cursor), already encoded.
    pub async fn entries(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        limit: u32,
        query: &str,
    ) -> Result<History, LogicError> {
        let path = match query {
            "" => format!("/v1/accounts/{number}/entries?limit={limit}"),
            query => format!("/v1/accounts/{number}/entries?limit={limit}&{query}"),
        };
        self.get(&path, caller).await
    }

    /// `GET /v1/accounts/{number}/statement` for the days `from` to `to`.
    pub async fn statement(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        from: Date,
        to: Date,
    ) -> Result<Statement, LogicError> {
        self.get(
            &format!("/v1/accounts/{number}/statement?from={from}&to={to}"),
            caller,
        )
        .await
    }

    /// `POST /v1/transfers` under the idempotency key `key`.
    pub async fn transfer(
        &self,
        caller: Caller<'_>,
        key: &str,
        request: &TransferRequest,
    ) -> Result<Transfer, LogicError> {
        self.post_idempotent("/v1/transfers", caller, key, request)
            .await
    }

    /// `POST /v1/transfers/checks`: what a transfer would do were it confirmed now, or the
    /// refusal it would meet.
    pub async fn check_transfer(
        &self,
        caller: Caller<'_>,
        request: &TransferCheckRequest,
    ) -> Result<TransferCheckResponse, LogicError> {
        Ok(self.post("/v1/transfers/checks", caller, request).await?.1)
    }

    /// `GET /v1/transfers?idempotency_key=…` for any keyed action (a cash movement, a drawer's
    /// opening or closing, a request filed for approval): the answer stored under `key`, if the
    /// action was carried out.
    pub async fn answer_by_key(&self, caller: Caller<'_>, key: &str) -> Result<Value, LogicError> {
        self.get(
            &format!("/v1/transfers?idempotency_key={}", encoded(key)),
            caller,
        )
        .await
    }

    /// `GET /v1/transfers?idempotency_key=…`: the transfer made under `key`, if one was.
    pub async fn transfer_by_key(
        &self,
        caller: Caller<'_>,
        key: &str,
    ) -> Result<Transfer, LogicError> {
        self.get(
            &format!("/v1/transfers?idempotency_key={}", encoded(key)),
            caller,
        )
        .await
    }

    /// `GET /v1/payees`, every page.
    pub async fn payees(&self, caller: Caller<'_>) -> Result<Vec<Payee>, LogicError> {
        self.get_all::<PayeeList>("/v1/payees?limit=100", caller)
            .await
    }

    /// `POST /v1/payees`.
    pub async fn add_payee(
        &self,
        caller: Caller<'_>,
        request: &AddPayeeRequest,
    ) -> Result<Payee, LogicError> {
        Ok(self.post("/v1/payees", caller, request).await?.1)
    }

    /// `DELETE /v1/payees/{id}`.
    pub async fn remove_payee(&self, caller: Caller<'_>, id: Uuid) -> Result<(), LogicError> {
        self.delete(&format!("/v1/payees/{id}"), caller).await
    }

    /// `GET /v1/me`.
    pub async fn me(&self, caller: Caller<'_>) -> Result<Me, LogicError> {
        self.get("/v1/me", caller).await
    }

    /// `GET /v1/me/step-up-thresholds`.
    pub async fn step_up_thresholds(
        &self,
        caller: Caller<'_>,
    ) -> Result<bank_api::sessions::StepUpThresholdListResponse, LogicError> {
        self.get("/v1/me/step-up-thresholds", caller).await
    }

    /// `PUT /v1/me/step-up-thresholds/{currency}`.
    pub async fn set_step_up_threshold(
        &self,
        caller: Caller<'_>,
        currency: Currency,
        request: &bank_api::sessions::SetStepUpThresholdRequest,
    ) -> Result<bank_api::sessions::StepUpThresholdListResponse, LogicError> {
        let path = format!("/v1/me/step-up-thresholds/{}", currency.code());
        self.call(Method::PUT, &path, caller, None, request).await
    }

    /// `GET /v1/me/sessions`, every page.
    pub async fn my_sessions(&self, caller: Caller<'_>) -> Result<Vec<SessionInfo>, LogicError> {
        self.get_all::<SessionList>("/v1/me/sessions?limit=100", caller)
            .await
    }

    /// `GET /v1/me/security-activity`: a page of `limit` things that happened to the sign-in,
    /// the newest or those older than `cursor`.
    pub async fn my_security_activity(
        &self,
        caller: Caller<'_>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<SecurityActivityList, LogicError> {
        let mut path = format!("/v1/me/security-activity?limit={limit}");
        if let Some(cursor) = cursor {
            path.push_str(&format!("&cursor={}", encoded(cursor)));
        }
        self.get(&path, caller).await
    }

    /// `POST /v1/me/password`.
    pub async fn change_password(
        &self,
        caller: Caller<'_>,
        request: &ChangePasswordRequest,
    ) -> Result<(), LogicError> {
        self.post::<_, serde_json::Value>("/v1/me/password", caller, request)
            .await
            .map(drop)
    }

    /// `POST /v1/me/form-submissions`: records a form as sent; a second sending of the same
    /// token answers `form_already_sent`.
    pub async fn record_form_submission(
        &self,
        caller: Caller<'_>,
        token: &str,
    ) -> Result<(), LogicError> {
        let request = bank_api::sessions::FormSubmissionRequest {
            token: token.to_owned(),
        };
        self.post::<_, serde_json::Value>("/v1/me/form-submissions", caller, &request)
            .await
            .map(drop)
    }

    /// `POST /v1/me/totp`: a new secret, not yet in force.
    pub async fn enrol_totp(&self, caller: Caller<'_>) -> Result<TotpEnrolment, LogicError> {
        let request = EnrolTotpRequest::default();
        Ok(self.post("/v1/me/totp", caller, &request).await?.1)
    }

    /// `POST /v1/me/totp/confirm`: puts the secret in force; answers the recovery codes.
    pub async fn confirm_totp(
        &self,
        caller: Caller<'_>,
        request: &ConfirmTotpRequest,
    ) -> Result<RecoveryCodes, LogicError> {
        Ok(self.post("/v1/me/totp/confirm", caller, request).await?.1)
    }

    /// `POST /v1/me/totp/disable`.
    pub async fn disable_totp(
        &self,
        caller: Caller<'_>,
        request: &DisableTotpRequest,
    ) -> Result<(), LogicError> {
        self.post::<_, serde_json::Value>("/v1/me/totp/disable", caller, request)
            .await
            .map(drop)
    }

    /// `POST /v1/sessions/second-factor`: completes a sign-in a second factor was asked for.
    pub async fn second_factor(
        &self,
        caller: Caller<'_>,
        request: &SecondFactorRequest,
    ) -> Result<Session, LogicError> {
        Ok(self
            .post("/v1/sessions/second-factor", caller, request)
            .await?
            .1)
    }

    /// `DELETE /v1/sessions`: signs the caller out everywhere.
    pub async fn sign_out_everywhere(&self, caller: Caller<'_>) -> Result<(), LogicError> {
        self.delete("/v1/sessions", caller).await
    }

    /// `DELETE /v1/sessions/current`.
    pub async fn sign_out(&self, caller: Caller<'_>) -> Result<(), LogicError> {
        self.delete("/v1/sessions/current", caller).await
    }

    /// `GET /v1/customers/{id}`.
    pub async fn customer(
        &self,
        caller: Caller<'_>,
        id: Uuid,
    ) -> Result<CustomerProfile, LogicError> {
        self.get(&format!("/v1/customers/{id}"), caller).await
    }

    /// `GET /v1/admin/cluster`.
    pub async fn cluster(&self, caller: Caller<'_>) -> Result<Cluster, LogicError> {
        self.get("/v1/admin/cluster", caller).await
    }
}

/// Which approval requests [`Logic::approvals`] lists: those in `status` (all when `None`), of
/// one account or one customer, newest first, at most `limit`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApprovalFilter<'a> {
    pub status: Option<ApprovalStatus>,
    pub account: Option<&'a AccountNumber>,
    pub customer: Option<Uuid>,
    pub limit: Option<u32>,
}

impl ApprovalFilter<'_> {
    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = self.status {
            query.append_pair("status", status.as_str());
        }
        if let Some(account) = self.account {
            query.append_pair("account", account.as_str());
        }
        if let Some(customer) = self.customer {
            query.append_pair("customer_id", &customer.to_string());
        }
        if let Some(limit) = self.limit {
            query.append_pair("limit", &limit.to_string());
        }
        query.finish()
    }
}

/// The staff pages' endpoints.
impl Logic {
    /// `GET /v1/accounts?customer_id=…`, every page.
    pub async fn accounts_of(
        &self,
        caller: Caller<'_>,
        customer: Uuid,
    ) -> Result<Vec<Account>, LogicError> {
        self.get_all::<AccountList>(
            &format!("/v1/accounts?customer_id={customer}&limit=100"),
            caller,
        )
        .await
    }

    /// `POST /v1/accounts`.
    pub async fn open_account(
        &self,
        caller: Caller<'_>,
        request: &OpenAccountRequest,
    ) -> Result<Account, LogicError> {
        Ok(self.post("/v1/accounts", caller, request).await?.1)
    }

    /// `POST /v1/accounts/{number}/freeze`.
    pub async fn freeze(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        request: &FreezeRequest,
    ) -> Result<Account, LogicError> {
        let path = format!("/v1/accounts/{number}/freeze");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `POST /v1/accounts/{number}/unfreeze`.
    pub async fn unfreeze(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        request: &ReasonRequest,
    ) -> Result<Account, LogicError> {
        let path = format!("/v1/accounts/{number}/unfreeze");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `POST /v1/accounts/{number}/close`.
    pub async fn close_account(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        request: &ReasonRequest,
    ) -> Result<Account, LogicError> {
        let path = format!("/v1/accounts/{number}/close");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `GET /v1/accounts/{number}/holds`: the first page, up to 100.
    pub async fn holds(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
    ) -> Result<HoldList, LogicError> {
        self.get(&format!("/v1/accounts/{number}/holds?limit=100"), caller)
            .await
    }

    /// `POST /v1/accounts/{number}/holds`.
    pub async fn place_hold(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        request: &HoldRequest,
    ) -> Result<Hold, LogicError> {
        let path = format!("/v1/accounts/{number}/holds");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `POST /v1/holds/{id}/release`.
    pub async fn release_hold(&self, caller: Caller<'_>, id: Uuid) -> Result<Hold, LogicError> {
        let path = format!("/v1/holds/{id}/release");
        Ok(self.post(&path, caller, &serde_json::json!({})).await?.1)
    }

    /// `POST /v1/accounts/{number}/overdraft-limit`: always filed for a supervisor.
    pub async fn request_overdraft(
        &self,
        caller: Caller<'_>,
        number: &AccountNumber,
        request: &OverdraftRequest,
    ) -> Result<Approval, LogicError> {
        let path = format!("/v1/accounts/{number}/overdraft-limit");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `POST /v1/cash/deposits` under the idempotency key `key`.
    pub async fn cash_deposit(
        &self,
        caller: Caller<'_>,
        key: &str,
        request: &CashRequest,
    ) -> Result<Filed<Transfer>, LogicError> {
        self.call_filed("/v1/cash/deposits", caller, key, request)
            .await
    }

    /// `POST /v1/cash/withdrawals` under the idempotency key `key`.
    pub async fn cash_withdrawal(
        &self,
        caller: Caller<'_>,
        key: &str,
        request: &CashRequest,
    ) -> Result<Filed<Transfer>, LogicError> {
        self.call_filed("/v1/cash/withdrawals", caller, key, request)
            .await
    }

    /// `POST /v1/transfers/{id}/reversals`: always filed for a second supervisor.
    pub async fn request_reversal(
        &self,
        caller: Caller<'_>,
        transfer: Uuid,
        key: &str,
        request: &ReversalRequest,
    ) -> Result<Approval, LogicError> {
        let path = format!("/v1/transfers/{transfer}/reversals");
        self.post_idempotent(&path, caller, key, request).await
    }

    /// `GET /v1/approvals`.
    pub async fn approvals(
        &self,
        caller: Caller<'_>,
        filter: ApprovalFilter<'_>,
    ) -> Result<ApprovalList, LogicError> {
        self.get(&format!("/v1/approvals?{}", filter.query()), caller)
            .await
    }

    /// `POST /v1/approvals/{id}/approve`.
    pub async fn approve(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        request: &DecisionRequest,
    ) -> Result<Approval, LogicError> {
        let path = format!("/v1/approvals/{id}/approve");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `POST /v1/approvals/{id}/reject`.
    pub async fn reject(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        request: &DecisionRequest,
    ) -> Result<Approval, LogicError> {
        let path = format!("/v1/approvals/{id}/reject");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `GET /v1/drawers`: the caller's latest `limit` drawers.
    pub async fn drawers(&self, caller: Caller<'_>, limit: u32) -> Result<DrawerList, LogicError> {
        self.get(&format!("/v1/drawers?limit={limit}"), caller)
            .await
    }

    /// `GET /v1/drawers/{id}`, with its latest movements.
    pub async fn drawer(&self, caller: Caller<'_>, id: Uuid) -> Result<Drawer, LogicError> {
        self.get(&format!("/v1/drawers/{id}"), caller).await
    }

    /// `POST /v1/drawers` under the idempotency key `key`.
    pub async fn open_drawer(
        &self,
        caller: Caller<'_>,
        key: &str,
        request: &OpenDrawerRequest,
    ) -> Result<Drawer, LogicError> {
        self.post_idempotent("/v1/drawers", caller, key, request)
            .await
    }

    /// `POST /v1/drawers/{id}/vault-transfers` under the idempotency key `key`.
    pub async fn vault_transfer(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        key: &str,
        request: &VaultTransferRequest,
    ) -> Result<Transfer, LogicError> {
        let path = format!("/v1/drawers/{id}/vault-transfers");
        self.post_idempotent(&path, caller, key, request).await
    }

    /// `POST /v1/drawers/{id}/close` under the idempotency key `key`.
    pub async fn close_drawer(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        key: &str,
        request: &CloseDrawerRequest,
    ) -> Result<Drawer, LogicError> {
        let path = format!("/v1/drawers/{id}/close");
        self.post_idempotent(&path, caller, key, request).await
    }

    /// `GET /v1/customers?q=…`: a page of `limit` customers matching `q`, from `cursor`.
    pub async fn search_customers(
        &self,
        caller: Caller<'_>,
        q: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<CustomerList, LogicError> {
        // The serializer is not `Send`: it is done with before the call.
        let query = {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("q", q);
            query.append_pair("limit", &limit.to_string());
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
            query.finish()
        };
        self.get(&format!("/v1/customers?{query}"), caller).await
    }

    /// `POST /v1/customers`.
    pub async fn onboard(
        &self,
        caller: Caller<'_>,
        request: &CreateCustomerRequest,
    ) -> Result<CustomerProfile, LogicError> {
        Ok(self.post("/v1/customers", caller, request).await?.1)
    }

    /// `PATCH /v1/customers/{id}`.
    pub async fn correct_customer(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        request: &IdentityFields,
    ) -> Result<CustomerProfile, LogicError> {
        let path = format!("/v1/customers/{id}");
        self.call(Method::PATCH, &path, caller, None, request).await
    }

    /// `GET /v1/customers/{id}/activity`: the latest `limit` entries across their accounts.
    pub async fn activity(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        limit: u32,
    ) -> Result<ActivityList, LogicError> {
        self.get(
            &format!("/v1/customers/{id}/activity?limit={limit}"),
            caller,
        )
        .await
    }

    /// `GET /v1/customers/{id}/limits`.
    pub async fn daily_limits(
        &self,
        caller: Caller<'_>,
        id: Uuid,
    ) -> Result<DailyLimitList, LogicError> {
        self.get(&format!("/v1/customers/{id}/limits"), caller)
            .await
    }

    /// `PUT /v1/customers/{id}/limits/{currency}`.
    pub async fn set_daily_limit(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        currency: Currency,
        request: &SetLimitRequest,
    ) -> Result<DailyLimitList, LogicError> {
        let path = format!("/v1/customers/{id}/limits/{}", currency.code());
        self.call(Method::PUT, &path, caller, None, request).await
    }

    /// `GET /v1/audit`: a page of 50 records; `query` is the search form's own query string
    /// (filters and cursor), already encoded.
    pub async fn audit(&self, caller: Caller<'_>, query: &str) -> Result<AuditList, LogicError> {
        self.get(&format!("/v1/audit?limit=50{query}"), caller)
            .await
    }

    /// `POST /v1/audit/verify`.
    pub async fn verify_audit(&self, caller: Caller<'_>) -> Result<Verification, LogicError> {
        Ok(self
            .post("/v1/audit/verify", caller, &serde_json::json!({}))
            .await?
            .1)
    }

    /// `GET /v1/admin/staff`, every page.
    pub async fn staff_members(&self, caller: Caller<'_>) -> Result<Vec<StaffMember>, LogicError> {
        self.get_all::<StaffList>("/v1/admin/staff?limit=100", caller)
            .await
    }

    /// `POST /v1/admin/staff`.
    pub async fn create_staff(
        &self,
        caller: Caller<'_>,
        request: &CreateStaffRequest,
    ) -> Result<StaffMember, LogicError> {
        Ok(self.post("/v1/admin/staff", caller, request).await?.1)
    }

    /// `POST /v1/customers/{id}/sign-in-reset`.
    pub async fn reset_customer_sign_in(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        request: &SignInResetRequest,
    ) -> Result<SignInReset, LogicError> {
        let path = format!("/v1/customers/{id}/sign-in-reset");
        self.call(Method::POST, &path, caller, None, request).await
    }

    /// `POST /v1/admin/staff/{id}/sign-in-reset`.
    pub async fn reset_staff_sign_in(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        request: &SignInResetRequest,
    ) -> Result<SignInReset, LogicError> {
        let path = format!("/v1/admin/staff/{id}/sign-in-reset");
        self.call(Method::POST, &path, caller, None, request).await
    }

    /// `PATCH /v1/admin/staff/{id}`.
    pub async fn update_staff(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        request: &UpdateStaffRequest,
    ) -> Result<StaffMember, LogicError> {
        let path = format!("/v1/admin/staff/{id}");
        self.call(Method::PATCH, &path, caller, None, request).await
    }

    /// `GET /v1/admin/limits`.
    pub async fn bank_limits(&self, caller: Caller<'_>) -> Result<Limits, LogicError> {
        self.get("/v1/admin/limits", caller).await
    }

    /// `PUT /v1/admin/limits/{currency}`.
    pub async fn set_bank_limits(
        &self,
        caller: Caller<'_>,
        currency: Currency,
        request: &SetLimitsRequest,
    ) -> Result<Limits, LogicError> {
        let path = format!("/v1/admin/limits/{}", currency.code());
        self.call(Method::PUT, &path, caller, None, request).await
    }

    /// `GET /v1/admin/api-keys`: a page of 50, from `cursor`.
    pub async fn api_keys(
        &self,
        caller: Caller<'_>,
        cursor: Option<&str>,
    ) -> Result<ApiKeyListResponse, LogicError> {
        let path = match cursor {
            Some(cursor) => format!("/v1/admin/api-keys?limit=50&cursor={}", encoded(cursor)),
            None => "/v1/admin/api-keys?limit=50".to_owned(),
        };
        self.get(&path, caller).await
    }

    /// `POST /v1/admin/api-keys`: the key, and its secret shown this once.
    pub async fn create_api_key(
        &self,
        caller: Caller<'_>,
        request: &CreateKeyRequest,
    ) -> Result<ApiKeySecretResponse, LogicError> {
        Ok(self.post("/v1/admin/api-keys", caller, request).await?.1)
    }

    /// `POST /v1/admin/api-keys/{id}/rotate`: the key, and its new secret shown this once.
    pub async fn rotate_api_key(
        &self,
        caller: Caller<'_>,
        id: Uuid,
        request: &RotateKeyRequest,
    ) -> Result<ApiKeySecretResponse, LogicError> {
        let path = format!("/v1/admin/api-keys/{id}/rotate");
        Ok(self.post(&path, caller, request).await?.1)
    }

    /// `POST /v1/admin/api-keys/{id}/revoke`.
    pub async fn revoke_api_key(
        &self,
        caller: Caller<'_>,
        id: Uuid,
    ) -> Result<ApiKeyResponse, LogicError> {
        let path = format!("/v1/admin/api-keys/{id}/revoke");
        Ok(self.post(&path, caller, &serde_json::json!({})).await?.1)
    }
}
