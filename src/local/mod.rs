//! `vcr-local`: a local stand-in for the vCR API (IAM token endpoint and both regions).
