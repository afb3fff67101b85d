//! Who may do what. Machines and scripts call the API with keys ([`keys`]: `dbk_` + 256
//! random bits, stored as SHA-256), each with one [`Role`], checked by one table
//! ([`roles`]), and each naming its holder ([`members`]) when it is a person's. An account
//! manager sees and acts on the accounts whose deals name them only (see [`Accounts`]),
//! which is why their key must name its holder.

pub mod keys;
pub mod members;
pub mod roles;
pub mod secrets;
pub mod staff;

pub use keys::{active_key_count, create_key};
pub use members::{upsert_member, Member};
pub use roles::{Permission, Role};
pub use secrets::{hash_secret, random_secret};
pub use staff::{Accounts, Staff};
