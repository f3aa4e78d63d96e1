//! The vCR portal API client (regions, IAM token, retries, typed errors, models).
