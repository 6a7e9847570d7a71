//! openapi fake (in progress).
