//! The vCR provider: configuration, resources and data sources.
