//! Category classification: a trainable linear model over character
//! n-grams (`minqing classifier train|eval|cv`), with the keyword rules of
//! `config/triage.toml` as the fallback when no model is configured.

pub mod data;
pub mod features;
pub mod metrics;
pub mod model;

pub use features::FeatureSpec;
pub use metrics::{Report, cross_validate, evaluate};
pub use model::{Example, Model, Prediction, TrainParams, train};

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Model(String),
}
