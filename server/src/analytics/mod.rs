//! Analytics for program owners: how many buyers took part, and what they said.

pub mod interviews;
pub mod participation;
