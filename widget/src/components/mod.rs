//! The widget's components, one per file.

pub mod nps_scale;
pub mod survey;
