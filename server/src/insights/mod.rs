//! The coded store: the decision-driver taxonomy, the insights coded against it (from
//! driver-matrix ratings, and by analysts from free text and interview notes), and the
//! lexicon that suggests drivers for uncoded text.

pub mod coding;
pub mod queue;
pub mod routes;
pub mod suggestions;
pub mod taxonomy;
