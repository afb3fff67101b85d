//! Who is calling: [`Staff`], from an API key, and the accounts they may see.

use super::keys::KEY_PREFIX;
use super::secrets::hash_secret;
use super::{Permission, Role};
use crate::platform::db::Db;
use crate::web::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

/// The caller of a staff endpoint, authenticated by `Authorization: Bearer <key>`.
#[derive(Debug, Clone)]
pub struct Staff {
    pub role: Role,
    /// The key's name, recorded on what its holder changes.
    pub name: String,
    /// The key's holder, when it names one: their id and address.
    pub member: Option<(String, String)>,
}

/// The accounts a caller sees and acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    All,
    /// Those managed by this address (`accounts.manager_email`).
    ManagedBy(String),
    /// None: an account manager's key stored without its holder.
    None,
}

impl Accounts {
    /// Whether an account managed by `manager_email` is among them.
    pub fn include(&self, manager_email: Option<&str>) -> bool {
        match self {
            Accounts::All => true,
            Accounts::ManagedBy(email) => manager_email == Some(email.as_str()),
            Accounts::None => false,
        }
    }
}

impl Staff {
    /// The accounts this caller may see and act on: an account manager's own, everyone
    /// else's all (what they may do with them is their role's).
    pub fn accounts(&self) -> Accounts {
        match (self.role, &self.member) {
            (Role::AccountManager, Some((_, email))) => Accounts::ManagedBy(email.clone()),
            // Refused at creation; should one be stored, it sees no account.
            (Role::AccountManager, None) => Accounts::None,
            _ => Accounts::All,
        }
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.can(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                role: self.role.to_string(),
                action: permission.describe(),
            })
        }
    }
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|k| k.trim().to_owned())
            .filter(|k| k.starts_with(KEY_PREFIX) && k.len() < 128);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let (Some(key), Some(db)) = (key, db) else {
                return Err(ApiError::Unauthorized);
            };
            let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
                "select k.role, k.name, s.id, s.email from api_keys k \
                 left join staff s on s.id = k.staff_id \
                 where k.key_hash = $1 and k.revoked_at is null \
                   and (k.staff_id is null or s.disabled_at is null)",
            )
            .bind(hash_secret(&key))
            .fetch_optional(db.pool())
            .await?;
            let (role, name, staff_id, email) = row.ok_or(ApiError::Unauthorized)?;
            let role = role
                .parse()
                .map_err(|e: String| anyhow::anyhow!("stored role: {e}"))?;
            Ok(Staff {
                role,
                name,
                member: staff_id.zip(email),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_manager_sees_only_the_accounts_they_manage() {
        let manager = Staff {
            role: Role::AccountManager,
            name: "Ana".into(),
            member: Some(("s1".into(), "ana@acme.example".into())),
        };
        let scope = manager.accounts();
        assert!(scope.include(Some("ana@acme.example")));
        assert!(!scope.include(Some("bob@acme.example")));
        assert!(!scope.include(None));
        let holderless = Staff {
            member: None,
            ..manager
        };
        assert!(!holderless.accounts().include(Some("")));
        let owner = Staff {
            role: Role::ProgramOwner,
            name: "Olga".into(),
            member: None,
        };
        assert!(owner.accounts().include(Some("bob@acme.example")));
    }
}
